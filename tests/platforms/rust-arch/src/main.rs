//! Prints the architecture it was compiled for: scratch has no uname, so the binary says it.
fn main() {
    println!("rust-arch {}", std::env::consts::ARCH);
}
