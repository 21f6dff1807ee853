fn main() -> std::process::ExitCode {
    tickerlake::cli::main("lake-status", lake_status::run)
}
