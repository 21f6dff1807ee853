fn main() -> std::process::ExitCode {
    tickerlake::cli::main("replay-server", replay_server::cli::run)
}
