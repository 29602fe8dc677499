//! A fault-injecting HTTP/1.1 proxy on loopback, between tag-warden and moto server: per AWS
//! operation (`X-Amz-Target`), it can answer with throttling or a 5xx in the service's own
//! JSON error shape, deny access, reset the connection, or hold a response past the SDK's
//! timeouts; everything else is forwarded to moto.

use super::http::{header, read_message, serve_loopback};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{BufReader, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 400 ThrottlingException.
    Throttle,
    /// 500 InternalServiceError (Secrets Manager) / KMSInternalException (KMS).
    ServerError,
    /// 400 AccessDeniedException, as ABAC answers an untag that would cost the caller access.
    AccessDenied,
    /// The connection is closed with no response.
    Reset,
    /// The response is held this long, then forwarded.
    Slow(Duration),
    /// The request reaches moto at once; its response is held this long: a read sent before
    /// another but answered after it.
    Late(Duration),
}

#[derive(Default)]
struct Plan {
    once: HashMap<String, VecDeque<Fault>>,
    always: HashMap<String, Fault>,
    calls: BTreeMap<String, usize>,
    injected: usize,
}

#[derive(Clone)]
pub struct FaultProxy {
    plan: Arc<Mutex<Plan>>,
    pub port: u16,
    upstream: u16,
}

impl FaultProxy {
    pub fn start(upstream: u16) -> FaultProxy {
        let mut proxy = FaultProxy {
            plan: Arc::default(),
            port: 0,
            upstream,
        };
        let server = proxy.clone();
        proxy.port = serve_loopback(move |stream| server.serve(stream)).port();
        proxy
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The next `times` calls of `op` (e.g. `secretsmanager.TagResource`) meet `fault`.
    pub fn inject(&self, op: &str, fault: Fault, times: usize) {
        let mut plan = self.plan.lock().unwrap();
        plan.once
            .entry(op.to_owned())
            .or_default()
            .extend(std::iter::repeat_n(fault, times));
    }

    /// Every call of `op` meets `fault`, until `clear`.
    pub fn always(&self, op: &str, fault: Fault) {
        self.plan.lock().unwrap().always.insert(op.to_owned(), fault);
    }

    pub fn clear(&self) {
        let mut plan = self.plan.lock().unwrap();
        plan.once.clear();
        plan.always.clear();
    }

    /// Calls seen per operation (faulted or not).
    pub fn calls(&self, op: &str) -> usize {
        self.plan.lock().unwrap().calls.get(op).copied().unwrap_or(0)
    }

    pub fn injected(&self) -> usize {
        self.plan.lock().unwrap().injected
    }

    fn next_fault(&self, op: &str) -> Option<Fault> {
        let mut plan = self.plan.lock().unwrap();
        *plan.calls.entry(op.to_owned()).or_insert(0) += 1;
        let fault = match plan.once.get_mut(op).and_then(VecDeque::pop_front) {
            Some(f) => Some(f),
            None => plan.always.get(op).copied(),
        };
        plan.injected += usize::from(fault.is_some());
        fault
    }

    fn serve(&self, client: TcpStream) {
        let mut reader = BufReader::new(client.try_clone().unwrap());
        let mut client = client;
        while let Some((head, body)) = read_message(&mut reader) {
            let op = header(&head, "x-amz-target")
                .map(|t| {
                    t.replace("TrentService.", "kms.")
                        .replace("DynamoDB_20120810.", "dynamodb.")
                })
                .unwrap_or_else(|| query_op(&body));
            let response = match self.next_fault(&op) {
                Some(Fault::Reset) => {
                    let _ = client.shutdown(Shutdown::Both);
                    return;
                }
                Some(Fault::Slow(d)) => {
                    std::thread::sleep(d);
                    self.forward(&head, &body)
                }
                Some(Fault::Late(d)) => {
                    let response = self.forward(&head, &body);
                    std::thread::sleep(d);
                    response
                }
                Some(f) => error_response(&op, f),
                None => self.forward(&head, &body),
            };
            if client.write_all(&response).is_err() {
                return;
            }
        }
    }

    fn forward(&self, head: &str, body: &[u8]) -> Vec<u8> {
        let mut upstream = TcpStream::connect(("127.0.0.1", self.upstream)).unwrap();
        let head: String = head
            .lines()
            .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
            .map(|l| format!("{l}\r\n"))
            .collect();
        upstream.write_all(head.trim_end().as_bytes()).unwrap();
        upstream.write_all(b"\r\nConnection: close\r\n\r\n").unwrap();
        upstream.write_all(body).unwrap();
        let mut reader = BufReader::new(upstream);
        let (head, body) = read_message(&mut reader).unwrap();
        let head: String = head
            .lines()
            .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
            .map(|l| format!("{l}\r\n"))
            .collect();
        let mut out = head.into_bytes();
        out.extend_from_slice(b"Connection: keep-alive\r\n\r\n");
        out.extend_from_slice(&body);
        out
    }
}

/// A query-protocol call (STS) by its form body: `sts.AssumeRole@ACCOUNT` for an AssumeRole
/// (so that one account's role can be denied), `sts.ACTION` otherwise.
fn query_op(body: &[u8]) -> String {
    let form = String::from_utf8_lossy(body).replace("%3A", ":").replace("%2F", "/");
    let param = |name: &str| {
        form.split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(str::to_owned))
    };
    match (param("Action"), param("RoleArn")) {
        (Some(action), Some(role)) if action == "AssumeRole" => {
            let account = role.split(':').nth(4).unwrap_or("").to_owned();
            format!("sts.AssumeRole@{account}")
        }
        (Some(action), _) => format!("sts.{action}"),
        _ => String::new(),
    }
}

/// The error each service's awsJson protocol sends (STS: its query protocol's XML).
fn error_response(op: &str, fault: Fault) -> Vec<u8> {
    if op.starts_with("sts.") {
        let (status, kind, code, message) = match fault {
            Fault::ServerError => (
                "500 Internal Server Error",
                "Receiver",
                "InternalFailure",
                "injected internal failure",
            ),
            _ => (
                "403 Forbidden",
                "Sender",
                "AccessDenied",
                "User is not authorized to perform: sts:AssumeRole",
            ),
        };
        let body = format!(
            "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>\
             <RequestId>injected-fault</RequestId></ErrorResponse>"
        );
        return format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n{body}",
            body.len()
        )
        .into_bytes();
    }
    let kms = op.starts_with("kms.");
    let (status, code, message) = match fault {
        Fault::Throttle => ("400 Bad Request", "ThrottlingException", "Rate exceeded"),
        Fault::ServerError if kms => ("500 Internal Server Error", "KMSInternalException", "injected internal failure"),
        Fault::ServerError => ("500 Internal Server Error", "InternalServiceError", "injected internal failure"),
        Fault::AccessDenied => (
            "400 Bad Request",
            "AccessDeniedException",
            "User is not authorized to perform this operation: removing the tag would revoke the caller's access to the resource",
        ),
        Fault::Reset | Fault::Slow(_) | Fault::Late(_) => unreachable!("not an error response"),
    };
    let body = format!(r#"{{"__type":"{code}","message":"{message}"}}"#);
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-ErrorType: {code}\r\n\
         x-amzn-RequestId: injected-fault\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
