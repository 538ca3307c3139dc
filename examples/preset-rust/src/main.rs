//! A tiny HTTP responder with the standard library only (no crates can be fetched).
//! std has no signal handling: the preset runs it under tini, whose forwarded SIGTERM
//! ends it (BP3).
use std::io::{Read, Write};
use std::net::TcpListener;

fn main() {
    let addr = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".to_string());
    let listener = TcpListener::bind(&addr).expect("bind");
    println!("preset-rust listening on {addr}");
    for stream in listener.incoming() {
        let mut stream = match stream {
            Ok(stream) => stream,
            Err(_) => continue,
        };
        let mut buf = [0u8; 1024];
        let _ = stream.read(&mut buf);
        let body = "hello from preset-rust\n";
        let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}", body.len(), body);
    }
}
