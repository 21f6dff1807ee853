fn main() -> std::process::ExitCode {
    tickerlake::cli::main("tickers-scrape", tickers_scrape::run)
}
