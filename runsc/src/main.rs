fn main() {
    eprintln!("runsc: not implemented yet");
    std::process::exit(1);
}
