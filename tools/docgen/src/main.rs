fn main() -> std::process::ExitCode {
    tickerlake::cli::main("docgen", docgen::run)
}
