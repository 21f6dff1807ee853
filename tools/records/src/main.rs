fn main() -> std::process::ExitCode {
    tickerlake::cli::main("records", records::run)
}
