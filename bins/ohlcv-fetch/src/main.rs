fn main() -> std::process::ExitCode {
    tickerlake::cli::main("ohlcv-fetch", ohlcv_fetch::run)
}
