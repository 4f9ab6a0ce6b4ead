//! Server processes of the `fltr-server-hyper` binary and the temporary
//! directories they run in.

use std::io::{BufRead as _, BufReader, Read};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use rand_core::{OsRng, RngCore as _};

/// How long a server may take from spawn to logging its address. Startup
/// applies migrations and hashes the bootstrap password with argon2id, which
/// takes well under this on an idle machine, so the bound catches a hung start.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The line the server logs once its listener is bound, followed by the address.
const LISTENING_PREFIX: &str = "listening on http://";

/// Environment variables that the server reads as defaults for its flags. They
/// are removed so that only the flags each test passes apply.
const SERVER_VARIABLES: [&str; 5] = [
    "PORTCULLIS_LISTEN",
    "PORTCULLIS_ISSUER",
    "PORTCULLIS_DATABASE",
    "PORTCULLIS_BOOTSTRAP",
    "PORTCULLIS_REGISTRATION_LIMIT",
];

/// Returns 16 random lowercase hexadecimal digits.
pub(crate) fn random_hex() -> String {
    let mut bytes = [0u8; 8];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A directory under the system's temporary directory, removed with its contents on drop.
#[derive(Debug)]
pub(crate) struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates an empty directory whose name contains `label`, the process id and random digits.
    pub(crate) fn new(label: &str) -> Self {
        let name = format!(
            "portcullis-durability-{label}-{}-{}",
            std::process::id(),
            random_hex()
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir(&path)
            .unwrap_or_else(|error| panic!("creating {} failed: {error}", path.display()));
        Self { path }
    }

    /// Returns the directory's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `contents` to the file `name` in the directory and returns its path.
    pub(crate) fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.path.join(name);
        std::fs::write(&path, contents)
            .unwrap_or_else(|error| panic!("writing {} failed: {error}", path.display()));
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
///
/// NOTE: another process may take the port before the server binds it. The
/// server then fails to start, and the test fails with its error message.
pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0 succeeds");
    listener
        .local_addr()
        .expect("a bound listener has an address")
        .port()
}

/// The command-line settings of one server process.
#[derive(Clone, Debug)]
pub(crate) struct ServerArgs<'a> {
    /// `--listen`, such as `127.0.0.1:0`.
    pub(crate) listen: &'a str,
    /// `--issuer`.
    pub(crate) issuer: &'a str,
    /// `--database`.
    pub(crate) database: &'a str,
    /// `--bootstrap`.
    pub(crate) bootstrap: &'a Path,
    /// The working directory of the process.
    pub(crate) workdir: &'a Path,
}

/// A running `fltr-server-hyper` process, killed with SIGKILL on drop.
///
/// Its standard output and error are read continuously, so the server never
/// blocks on a full pipe, and kept for checks.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    output: Arc<Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts the binary and waits until it logs the address it listens on.
    ///
    /// # Panics
    ///
    /// Panics, showing the server's output, when it exits or has not logged
    /// its address within [`STARTUP_TIMEOUT`].
    pub(crate) fn start(args: &ServerArgs<'_>) -> Self {
        let mut child = server_command(args)
            .spawn()
            .unwrap_or_else(|error| panic!("starting fltr-server-hyper failed: {error}"));

        let output = Arc::new(Mutex::new(Vec::new()));
        let (listening, addresses) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let _stdout_reader = collect_lines(stdout, Arc::clone(&output), Some(listening));
        let stderr_reader = collect_lines(stderr, Arc::clone(&output), None);

        let addr = match addresses.recv_timeout(STARTUP_TIMEOUT) {
            Ok(addr) => addr,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "fltr-server-hyper logged no address within {STARTUP_TIMEOUT:?}; output:\n{}",
                    lines_of(&output)
                );
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // Standard output closed, so the process is exiting.
                let status = child.wait();
                let _ = stderr_reader.join();
                panic!(
                    "fltr-server-hyper exited before listening ({status:?}); output:\n{}",
                    lines_of(&output)
                );
            }
        };
        Self {
            child,
            addr,
            output,
        }
    }

    /// Returns the server's base URL, such as `http://127.0.0.1:8080`.
    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Returns the lines the server wrote so far, standard output and error interleaved.
    pub(crate) fn output(&self) -> Vec<String> {
        self.output
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Returns the lines that the bootstrap printed for a created user or app.
    pub(crate) fn created_lines(&self) -> Vec<String> {
        self.output()
            .into_iter()
            .filter(|line| line.starts_with("created user ") || line.starts_with("created app "))
            .collect()
    }

    /// Returns `true` while the process has not exited.
    pub(crate) fn is_running(&mut self) -> bool {
        self.child
            .try_wait()
            .expect("checking the server process succeeds")
            .is_none()
    }

    /// Sends SIGKILL and waits for the process to exit.
    pub(crate) fn sigkill(&mut self) -> ExitStatus {
        // `Child::kill` sends SIGKILL on Unix.
        self.child
            .kill()
            .expect("sending SIGKILL to the server succeeds");
        self.child
            .wait()
            .expect("waiting for the killed server succeeds")
    }

    /// Asserts that the server wrote no panic message.
    #[track_caller]
    pub(crate) fn assert_no_panic(&self) {
        let output = self.output();
        assert!(
            !output.iter().any(|line| line.contains("panicked")),
            "the server panicked; output:\n{}",
            output.join("\n")
        );
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Builds the command that runs the binary with `args`, its output piped.
fn server_command(args: &ServerArgs<'_>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fltr-server-hyper"));
    command
        .arg("--listen")
        .arg(args.listen)
        .arg("--issuer")
        .arg(args.issuer)
        .arg("--database")
        .arg(args.database)
        .arg("--bootstrap")
        .arg(args.bootstrap)
        .current_dir(args.workdir)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for variable in SERVER_VARIABLES {
        command.env_remove(variable);
    }
    command
}

/// Reads `reader` line by line on a new thread into `output`, sending the
/// address of the first `listening on` line to `listening`.
fn collect_lines(
    reader: impl Read + Send + 'static,
    output: Arc<Mutex<Vec<String>>>,
    mut listening: Option<mpsc::Sender<SocketAddr>>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = listening_addr(&line) {
                if let Some(sender) = listening.take() {
                    let _ = sender.send(addr);
                }
            }
            output
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(line);
        }
    })
}

/// Reads the address from a `listening on http://ADDR` log line.
fn listening_addr(line: &str) -> Option<SocketAddr> {
    let start = line.find(LISTENING_PREFIX)? + LISTENING_PREFIX.len();
    let addr: String = line[start..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '[' | ']'))
        .collect();
    addr.parse().ok()
}

fn lines_of(output: &Mutex<Vec<String>>) -> String {
    output
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .join("\n")
}
