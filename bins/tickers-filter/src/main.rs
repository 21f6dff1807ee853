fn main() -> std::process::ExitCode {
    tickerlake::cli::main("tickers-filter", tickers_filter::run)
}
