fn main() -> std::process::ExitCode {
    tickerlake::cli::main("to-parquet", to_parquet::run)
}
