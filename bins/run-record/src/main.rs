fn main() -> std::process::ExitCode {
    tickerlake::cli::main("run-record", run_record::run)
}
