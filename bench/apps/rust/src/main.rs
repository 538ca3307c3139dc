//! rsvc: a small HTTP service on the Rust standard library only (no crates). It
//! installs its own SIGTERM/SIGINT handler through libc's `signal` (std links libc
//! anyway), because as PID 1 a process gets only the signals it handles (BP2).
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static STOPPING: AtomicBool = AtomicBool::new(false);

extern "C" {
    fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
    fn getuid() -> u32;
}

extern "C" fn on_signal(_: i32) {
    STOPPING.store(true, Ordering::SeqCst);
}

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

fn answer(mut stream: TcpStream, started: Instant, served: u64) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut buf = [0u8; 2048];
    let n = stream.read(&mut buf)?;
    let request = String::from_utf8_lossy(&buf[..n]);
    let body = if request.starts_with("GET /healthz") {
        "ok\n".to_string()
    } else {
        format!(
            "rsvc uid={} uptime={}s served={}\n",
            unsafe { getuid() },
            started.elapsed().as_secs(),
            served
        )
    };
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        body
    )
}

fn main() {
    let listen = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8080".to_string());
    unsafe {
        signal(SIGTERM, on_signal);
        signal(SIGINT, on_signal);
    }
    let listener = TcpListener::bind(&listen).unwrap_or_else(|e| {
        eprintln!("rsvc: cannot listen on {listen}: {e}");
        std::process::exit(1);
    });
    // Non-blocking accept with a short sleep, so a signal is noticed within 50 ms.
    listener.set_nonblocking(true).expect("non-blocking listener");
    println!("rsvc listening on {listen}");
    let started = Instant::now();
    let mut served = 0u64;
    while !STOPPING.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                served += 1;
                if let Err(e) = answer(stream, started, served) {
                    eprintln!("rsvc: {e}");
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => eprintln!("rsvc: accept: {e}"),
        }
    }
    println!("rsvc stopped");
}
