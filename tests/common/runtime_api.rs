//! A minimal Lambda Runtime API on loopback, enough to run a real `bootstrap` as Lambda does:
//! it hands out queued events on `GET /2018-06-01/runtime/invocation/next`, collects
//! `.../response` and `.../error` posts, and notes when the first `next` arrived.

use super::http::{read_message, serve_loopback};
use std::collections::VecDeque;
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What the function answered for one invocation.
#[derive(Debug, Clone)]
pub struct Answer {
    pub request_id: String,
    pub ok: bool,
    pub body: String,
}

#[derive(Default)]
struct State {
    queue: VecDeque<(String, String)>,
    answers: Vec<Answer>,
    first_next: Option<Instant>,
    next_id: usize,
}

#[derive(Clone)]
pub struct RuntimeApi {
    state: Arc<(Mutex<State>, Condvar)>,
    pub addr: String,
}

impl RuntimeApi {
    pub fn start() -> RuntimeApi {
        let mut api = RuntimeApi {
            state: Arc::default(),
            addr: String::new(),
        };
        let server = api.clone();
        api.addr = serve_loopback(move |stream| server.serve(stream)).to_string();
        api
    }

    /// Queues an event; returns its request id.
    pub fn push(&self, event: &str) -> String {
        let (lock, cv) = &*self.state;
        let mut s = lock.lock().unwrap();
        s.next_id += 1;
        let id = format!("req-{:04}", s.next_id);
        s.queue.push_back((id.clone(), event.to_owned()));
        cv.notify_all();
        id
    }

    /// Waits until `n` answers arrived (or the timeout passes) and returns them.
    pub fn answers(&self, n: usize, timeout: Duration) -> Vec<Answer> {
        let (lock, cv) = &*self.state;
        let deadline = Instant::now() + timeout;
        let mut s = lock.lock().unwrap();
        while s.answers.len() < n && Instant::now() < deadline {
            s = cv.wait_timeout(s, Duration::from_millis(50)).unwrap().0;
        }
        s.answers.clone()
    }

    pub fn first_next(&self) -> Option<Instant> {
        self.state.0.lock().unwrap().first_next
    }

    fn serve(&self, stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        while let Some((head, body)) = read_message(&mut reader) {
            let mut start = head.split_whitespace();
            let (method, path) = (start.next().unwrap_or(""), start.next().unwrap_or(""));
            let response = self.route(method, path, String::from_utf8_lossy(&body).into_owned());
            if writer.write_all(response.as_bytes()).is_err() {
                return;
            }
        }
    }

    fn route(&self, method: &str, path: &str, body: String) -> String {
        let (lock, cv) = &*self.state;
        if method == "GET" && path.ends_with("/runtime/invocation/next") {
            let mut s = lock.lock().unwrap();
            s.first_next.get_or_insert_with(Instant::now);
            let (id, event) = loop {
                if let Some(item) = s.queue.pop_front() {
                    break item;
                }
                s = cv.wait(s).unwrap();
            };
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 300_000;
            return format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {id}\r\n\
                 Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:tag-warden\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000;Sampled=0\r\n\
                 Content-Length: {}\r\n\r\n{event}",
                event.len()
            );
        }
        let ok = path.ends_with("/response");
        if let Some(id) = path.split('/').rev().nth(1).filter(|_| ok || path.ends_with("/error")) {
            let mut s = lock.lock().unwrap();
            s.answers.push(Answer {
                request_id: id.to_owned(),
                ok,
                body,
            });
            cv.notify_all();
        }
        "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}".to_owned()
    }
}

/// Peak resident set size (VmHWM) of a live process, in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
