//! A local AWS API emulator for tests: moto (`moto[server]`, pinned by the
//! project's test script) started on 127.0.0.1 on a free port, with
//! explicitly loopback, dummy-credential SDK configuration, so a test can
//! never reach a real AWS account.
//!
//! Each [`Moto`] is its own server process (isolated state), stopped by its
//! process ID when dropped. [`Moto::reset`] clears it between cases.

pub mod faults;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

/// What can go wrong starting or talking to the emulator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "the AWS emulator (moto_server) was not found at {0}; run scripts/test, which installs it into .venv, \
         or set INFRA_MOTO_SERVER"
    )]
    NotInstalled(PathBuf),
    #[error("cannot start the AWS emulator: {0}")]
    Start(std::io::Error),
    #[error("the AWS emulator did not answer on {endpoint} within {waited:?}")]
    NotReady { endpoint: String, waited: Duration },
    #[error("the AWS emulator's control API failed: {0}")]
    Control(String),
    #[error("refusing to use {0}: tests only talk to a loopback endpoint")]
    NotLoopback(String),
}

/// A running emulator.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    port: u16,
}

/// Where the emulator is: `INFRA_MOTO_SERVER`, else the project's
/// `scripts/moto-serial` (moto from `.venv`, one request at a time, so
/// conditional DynamoDB writes to one item are serialized as in AWS).
pub fn moto_server_path() -> PathBuf {
    if let Some(p) = std::env::var_os("INFRA_MOTO_SERVER") {
        return PathBuf::from(p);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.join("scripts/moto-serial")
}

fn free_port() -> Result<u16, Error> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(Error::Start)?;
    l.local_addr().map(|a| a.port()).map_err(Error::Start)
}

impl Moto {
    /// Starts a fresh emulator and waits until it answers.
    pub fn start() -> Result<Moto, Error> {
        let bin = moto_server_path();
        if !bin.exists() {
            return Err(Error::NotInstalled(bin));
        }
        let port = free_port()?;
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .env("MOTO_ACM_VALIDATION_WAIT", "1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(Error::Start)?;
        let moto = Moto { child, port };
        let started = Instant::now();
        let limit = Duration::from_secs(60);
        while started.elapsed() < limit {
            if moto.request("GET", "/moto-api/data.json").is_ok() {
                return Ok(moto);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(Error::NotReady { endpoint: moto.endpoint(), waited: limit })
    }

    /// The one emulator of this test binary, started on first use (the
    /// emulator serves a few hundred requests a second: one per binary,
    /// shared by its cases). Panics when it cannot start, like an assertion.
    #[allow(clippy::panic)]
    pub fn shared() -> &'static Moto {
        static MOTO: std::sync::OnceLock<Moto> = std::sync::OnceLock::new();
        MOTO.get_or_init(|| Moto::start().unwrap_or_else(|e| panic!("{e}")))
    }

    /// The emulator's endpoint, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Clears every resource in every region.
    pub fn reset(&self) -> Result<(), Error> {
        self.request("POST", "/moto-api/reset").map(|_| ())
    }

    /// A minimal HTTP/1.1 exchange with the emulator's control API.
    fn request(&self, method: &str, path: &str) -> Result<String, Error> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
            .map_err(|e| Error::Control(e.to_string()))?;
        s.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| Error::Control(e.to_string()))?;
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        s.write_all(req.as_bytes()).map_err(|e| Error::Control(e.to_string()))?;
        let mut out = String::new();
        s.read_to_string(&mut out).map_err(|e| Error::Control(e.to_string()))?;
        if out.starts_with("HTTP/1.1 200") || out.starts_with("HTTP/1.0 200") {
            Ok(out)
        } else {
            Err(Error::Control(out.lines().next().unwrap_or_default().to_owned()))
        }
    }

    /// SDK configuration for `region` that can only reach this emulator:
    /// its loopback endpoint and dummy credentials, set explicitly (nothing
    /// is read from the environment or a profile).
    pub fn sdk_config(&self, region: &str) -> Result<SdkConfig, Error> {
        loopback_sdk_config(&self.endpoint(), region)
    }
}

/// SDK configuration for a loopback endpoint with dummy credentials.
/// Refuses any endpoint that is not on 127.0.0.0/8 or `localhost`.
pub fn loopback_sdk_config(endpoint: &str, region: &str) -> Result<SdkConfig, Error> {
    let host = endpoint
        .strip_prefix("http://")
        .and_then(|rest| rest.split([':', '/']).next())
        .ok_or_else(|| Error::NotLoopback(endpoint.to_owned()))?;
    let loopback = host == "localhost" || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return Err(Error::NotLoopback(endpoint.to_owned()));
    }
    Ok(SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(endpoint)
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            Credentials::new("testing", "testing", None, None, "infra-testkit"),
        ))
        .build())
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_endpoints_are_accepted() {
        assert!(loopback_sdk_config("http://127.0.0.1:5000", "us-east-1").is_ok());
        assert!(loopback_sdk_config("http://localhost:5000", "us-east-1").is_ok());
        for bad in [
            "https://ec2.us-east-1.amazonaws.com",
            "http://10.0.0.1:5000",
            "http://169.254.169.254",
            "ftp://127.0.0.1",
        ] {
            assert!(matches!(loopback_sdk_config(bad, "us-east-1"), Err(Error::NotLoopback(_))), "{bad}");
        }
    }
}
