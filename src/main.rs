fn main() -> std::process::ExitCode {
    credo::cli::main()
}
