//! A fault-injecting HTTP proxy for tests: it sits between the SDK and the
//! emulator on loopback and, for the requests a rule matches, loses the
//! response after the emulator acted, or answers a throttling or
//! server error without forwarding — the faults a real endpoint shows.
//!
//! Every response is sent with `Connection: close`, so a dropped
//! connection is always a lost answer, never a stale pooled one.
//!
//! Two ways to choose what to fault: rules ([`Fault`]: the nth call of an
//! action) and a random share of every call ([`Shares`]: throttling,
//! server errors, resets, slow and lost answers, from a fixed seed). The
//! proxy counts what it forwarded and injected ([`Counts`]) and stops
//! accepting when its last handle is dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use crate::Error;

/// What a rule does to a matching request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Forward it (the emulator acts), then close the connection without
    /// answering: the caller cannot know what happened.
    LoseResponse,
    /// Answer EC2's throttling error (`RequestLimitExceeded`, HTTP 503)
    /// without forwarding.
    Throttle,
    /// Answer HTTP 503 with no body without forwarding.
    Unavailable,
    /// Hold the request without forwarding it, for a minute: the caller
    /// hangs in that call (a test kills it there), the emulator never acts.
    Stall,
    /// Answer HTTP 500 `InternalError` without forwarding.
    ServerError,
    /// Close the connection without forwarding or answering (a reset).
    Reset,
    /// Wait a second, then forward and answer normally.
    Slow,
    /// Answer CloudFront's stale-ETag error (`PreconditionFailed`, HTTP
    /// 412) without forwarding: someone changed the object since its ETag
    /// was read (the emulator accepts any ETag, so it never says this).
    PreconditionFailed,
    /// Answer a JSON-protocol service's error with this code (HTTP 400)
    /// without forwarding: an answer the emulator never gives (WAFv2's
    /// `WAFOptimisticLockException`, `WAFAssociatedItemException`).
    Refuse(&'static str),
}

/// Shares of calls (0.0–1.0 each) that get each effect, drawn from a
/// seeded generator so a run can be repeated.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shares {
    pub seed: u64,
    /// Answered with the service's throttling error, not forwarded.
    pub throttle: f64,
    /// Answered with HTTP 500/503, not forwarded.
    pub server_error: f64,
    /// Forwarded; the answer is lost (the emulator acted).
    pub lost: f64,
    /// Connection closed before forwarding.
    pub reset: f64,
    /// Forwarded after a delay.
    pub slow: f64,
}

/// What the proxy did, by effect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Time during which at least one forwarded request was waiting on
    /// the emulator: the endpoint's own share of a run's wall time.
    pub endpoint_busy: std::time::Duration,
    /// Requests received.
    pub requests: u64,
    /// Requests forwarded to the emulator (including slow and lost ones).
    pub forwarded: u64,
    pub throttled: u64,
    pub server_errors: u64,
    pub lost: u64,
    pub resets: u64,
    pub slow: u64,
    /// Bytes in the bodies of PUT requests (S3 object writes): what a
    /// state backend stores.
    pub put_bytes: u64,
}

/// A rule: the `nth` (1-based) request whose body or `X-Amz-Target`
/// names `action` (e.g. `Action=CreateVpc`, or `CreateVpc`) gets `effect`.
/// For REST APIs (CloudFront), `action` is a method and a path fragment:
/// `PUT /config` matches `PUT /2020-05-31/distribution/E1/config`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub action: String,
    pub nth: usize,
    pub effect: Effect,
}

impl Fault {
    /// The `nth` request of `action` gets `effect`.
    pub fn new(action: &str, nth: usize, effect: Effect) -> Self {
        Fault { action: action.to_owned(), nth, effect }
    }
}

#[derive(Debug, Default)]
struct Shared {
    shares: Option<Shares>,
    rng: u64,
    in_flight: usize,
    busy_since: Option<std::time::Instant>,
    counts: Counts,
    rules: Vec<Fault>,
    seen: std::collections::BTreeMap<String, usize>,
    /// What was injected: (action, effect).
    injected: Vec<(String, Effect)>,
}

/// A running proxy. It stops accepting when its last handle is dropped.
#[derive(Debug, Clone)]
pub struct FaultProxy {
    port: u16,
    shared: Arc<Mutex<Shared>>,
    _stop: Arc<Stopper>,
}

/// Stops the accept loop when dropped.
#[derive(Debug)]
struct Stopper {
    port: u16,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for Stopper {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
    }
}

/// Requests forwarded to the upstream at once; more wait their turn. The
/// cap is on requests, not connections: an HTTP client keeps idle
/// connections open in its pool, and a cap on connections would let them
/// hold every slot while the requests queue behind them.
const MAX_FORWARDS: usize = 64;

/// A counting gate: at most `max` holders at once.
struct Gate {
    held: Mutex<usize>,
    freed: std::sync::Condvar,
    max: usize,
}

impl Gate {
    fn enter(&self) -> GateHeld<'_> {
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while *held >= self.max {
            held = self.freed.wait(held).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *held += 1;
        GateHeld(self)
    }
}

struct GateHeld<'a>(&'a Gate);

impl Drop for GateHeld<'_> {
    fn drop(&mut self) {
        let mut held = self.0.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *held = held.saturating_sub(1);
        self.0.freed.notify_one();
    }
}

impl FaultProxy {
    /// A proxy on 127.0.0.1 in front of `upstream` (a loopback endpoint
    /// such as the emulator's).
    pub fn start(upstream: &str) -> Result<Self, Error> {
        let target = upstream.strip_prefix("http://").unwrap_or(upstream).trim_end_matches('/').to_owned();
        if !(target.starts_with("127.0.0.1:") || target.starts_with("localhost:")) {
            return Err(Error::NotLoopback(upstream.to_owned()));
        }
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(Error::Start)?;
        let port = listener.local_addr().map_err(Error::Start)?.port();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let state = shared.clone();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let max: usize = std::env::var("INFRA_PROXY_CONNECTIONS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(MAX_FORWARDS);
        let gate = Arc::new(Gate { held: Mutex::new(0), freed: std::sync::Condvar::new(), max: max.max(1) });
        std::thread::spawn(move || {
            use std::sync::atomic::Ordering;
            for conn in listener.incoming().flatten() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                // A connection a client left idle in its pool frees its
                // thread after a while.
                let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(30)));
                let state = state.clone();
                let target = target.clone();
                let gate = gate.clone();
                std::thread::spawn(move || {
                    if let Err(e) = serve(conn, &target, &state, &gate)
                        && std::env::var_os("INFRA_PROXY_TRACE").is_some()
                    {
                        eprintln!("proxy: error {e}");
                    }
                });
            }
        });
        Ok(FaultProxy { port, shared, _stop: Arc::new(Stopper { port, stop }) })
    }

    /// Faults a random share of every call from now on (`None`: none).
    pub fn set_shares(&self, shares: Option<Shares>) {
        let mut s = self.lock();
        // splitmix64 of the seed: nearby seeds give unrelated sequences.
        s.rng = shares.map_or(0, |x| {
            let mut z = x.seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) | 1
        });
        s.shares = shares;
    }

    /// What the proxy did so far.
    pub fn counts(&self) -> Counts {
        self.lock().counts
    }

    /// Forgets the counts.
    pub fn reset_counts(&self) {
        self.lock().counts = Counts::default();
    }

    /// The proxy's endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Replaces the rules and forgets what was seen.
    pub fn set(&self, rules: Vec<Fault>) {
        let mut s = self.lock();
        s.rules = rules;
        s.seen.clear();
        s.injected.clear();
    }

    /// The faults injected so far: (action, effect).
    pub fn injected(&self) -> Vec<(String, Effect)> {
        self.lock().injected.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Reads one HTTP/1.1 request: head and body (by `Content-Length`).
fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<(Vec<String>, Vec<u8>)>> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    let length = head
        .iter()
        .find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.trim().eq_ignore_ascii_case("content-length").then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Some((head, body)))
}

fn serve(conn: TcpStream, target: &str, state: &Mutex<Shared>, gate: &Gate) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut client = conn;
    let Some((head, body)) = read_request(&mut reader)? else { return Ok(()) };
    let text = String::from_utf8_lossy(&body).into_owned();
    let amz_target = head
        .iter()
        .find_map(|h| h.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case("x-amz-target")))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let effect = {
        let mut s = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        s.counts.requests += 1;
        if head.first().is_some_and(|line| line.starts_with("PUT ")) {
            s.counts.put_bytes += body.len() as u64;
        }
        let rules = s.rules.clone();
        let mut chosen = None;
        // Each call counts once per action, however many rules name it.
        let mut counted: Vec<&str> = Vec::new();
        for rule in &rules {
            let names = text.split('&').any(|p| p == format!("Action={}", rule.action))
                || amz_target.ends_with(&format!(".{}", rule.action))
                || rule.action.split_once(' ').is_some_and(|(method, fragment)| {
                    head.first().and_then(|l| l.split(' ').nth(1).map(|path| (l, path))).is_some_and(
                        |(line, path)| line.starts_with(&format!("{method} ")) && path.contains(fragment),
                    )
                });
            if names {
                let n = s.seen.entry(rule.action.clone()).or_default();
                if !counted.contains(&rule.action.as_str()) {
                    *n += 1;
                    counted.push(&rule.action);
                }
                if *n == rule.nth && chosen.is_none() {
                    chosen = Some(rule.effect);
                    s.injected.push((rule.action.clone(), rule.effect));
                }
            }
        }
        if chosen.is_none()
            && let Some(shares) = s.shares
        {
            // xorshift64*: a fixed sequence per seed.
            let mut x = s.rng;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            s.rng = x;
            let draw = (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
            let mut edge = 0.0;
            for (share, effect) in [
                (shares.throttle, Effect::Throttle),
                (shares.server_error, Effect::ServerError),
                (shares.lost, Effect::LoseResponse),
                (shares.reset, Effect::Reset),
                (shares.slow, Effect::Slow),
            ] {
                edge += share;
                if draw < edge {
                    chosen = Some(effect);
                    break;
                }
            }
        }
        match chosen {
            Some(Effect::Throttle) => s.counts.throttled += 1,
            Some(Effect::ServerError | Effect::Unavailable) => s.counts.server_errors += 1,
            Some(Effect::LoseResponse) => s.counts.lost += 1,
            Some(Effect::Reset) => s.counts.resets += 1,
            Some(Effect::Slow) => s.counts.slow += 1,
            Some(Effect::Stall | Effect::PreconditionFailed | Effect::Refuse(_)) | None => {}
        }
        if matches!(chosen, None | Some(Effect::LoseResponse | Effect::Slow)) {
            s.counts.forwarded += 1;
        }
        chosen
    };
    let json = !amz_target.is_empty();
    match effect {
        Some(Effect::Throttle) if json => {
            let body = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
            return client.write_all(reply("400 Bad Request", "application/x-amz-json-1.0", body).as_bytes());
        }
        Some(Effect::Throttle) => {
            let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>fault-proxy</RequestID></Response>";
            return client.write_all(reply("503 Service Unavailable", "text/xml", xml).as_bytes());
        }
        Some(Effect::ServerError) if json => {
            let body = r#"{"__type":"InternalFailure","message":"We encountered an internal error."}"#;
            return client.write_all(
                reply("500 Internal Server Error", "application/x-amz-json-1.0", body).as_bytes(),
            );
        }
        Some(Effect::ServerError) => {
            let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>InternalError</Code><Message>An internal error has occurred.</Message></Error></Errors><RequestID>fault-proxy</RequestID></Response>";
            return client.write_all(reply("500 Internal Server Error", "text/xml", xml).as_bytes());
        }
        Some(Effect::PreconditionFailed) => {
            let xml = "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><Error><Type>Sender</Type><Code>PreconditionFailed</Code><Message>The request failed because it didn't meet the preconditions in one or more request-header fields.</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>";
            return client.write_all(reply("412 Precondition Failed", "text/xml", xml).as_bytes());
        }
        Some(Effect::Refuse(code)) => {
            let body = format!(r#"{{"__type":"{code}","message":"injected by the fault proxy"}}"#);
            return client
                .write_all(reply("400 Bad Request", "application/x-amz-json-1.1", &body).as_bytes());
        }
        Some(Effect::Reset) => return client.shutdown(std::net::Shutdown::Both),
        Some(Effect::Slow) => std::thread::sleep(std::time::Duration::from_secs(1)),
        Some(Effect::Unavailable) => {
            return client.write_all(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
        Some(Effect::Stall) => {
            std::thread::sleep(std::time::Duration::from_secs(60));
            return Ok(());
        }
        Some(Effect::LoseResponse) | None => {}
    }
    // Forward with `Connection: close` and read the whole answer.
    let turn = gate.enter();
    let waiting = Waiting::enter(state);
    let started = std::time::Instant::now();
    let mut upstream = TcpStream::connect(target)?;
    let mut request = Vec::new();
    for (i, h) in head.iter().enumerate() {
        if i > 0 && h.split_once(':').is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("connection")) {
            continue;
        }
        request.extend_from_slice(h.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"Connection: close\r\n\r\n");
    request.extend_from_slice(&body);
    upstream.write_all(&request)?;
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer)?;
    drop(waiting);
    drop(turn);
    if std::env::var_os("INFRA_PROXY_TRACE").is_some() {
        let action = text.split('&').find_map(|p| p.strip_prefix("Action=")).unwrap_or(&amz_target);
        let status = answer.split(|b| *b == b'\r').next().map(String::from_utf8_lossy).unwrap_or_default();
        eprintln!("proxy: {action} {:.1} ms {status}", started.elapsed().as_secs_f64() * 1e3);
    }
    if effect == Some(Effect::LoseResponse) {
        // The emulator acted; the caller never hears of it.
        return client.shutdown(std::net::Shutdown::Both);
    }
    client.write_all(&with_connection_close(&answer))
}

/// A request waiting on the emulator; the proxy's busy time is the union
/// of these intervals.
struct Waiting<'a>(&'a Mutex<Shared>);

impl<'a> Waiting<'a> {
    fn enter(state: &'a Mutex<Shared>) -> Self {
        let mut s = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if s.in_flight == 0 {
            s.busy_since = Some(std::time::Instant::now());
        }
        s.in_flight += 1;
        Waiting(state)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut s = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        s.in_flight = s.in_flight.saturating_sub(1);
        if s.in_flight == 0
            && let Some(since) = s.busy_since.take()
        {
            s.counts.endpoint_busy += since.elapsed();
        }
    }
}

/// A whole HTTP response with `body`.
fn reply(status: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The response with its `Connection` header replaced by `close`.
fn with_connection_close(answer: &[u8]) -> Vec<u8> {
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").map_or(answer.len(), |p| p + 4);
    let head = String::from_utf8_lossy(&answer[..split]);
    let mut out = String::new();
    for (i, line) in head.split("\r\n").filter(|l| !l.is_empty()).enumerate() {
        if i > 0 && line.split_once(':').is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("connection")) {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&answer[split..]);
    bytes
}
