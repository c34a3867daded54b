//! Child processes of the real `fieldnotes` binary that cannot outlive
//! their test: `KillOnDrop` SIGKILLs and reaps its child when dropped, so a
//! failed assertion or a panic leaves no bot behind, and `output_within`
//! fails a test whose command hangs instead of hanging it.

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// `fieldnotes` as built for these tests.
pub fn fieldnotes() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fieldnotes"))
}

/// A running child, SIGKILLed and reaped when dropped.
pub struct KillOnDrop(pub Option<Child>);

impl KillOnDrop {
    pub fn spawn(cmd: &mut Command) -> Self {
        KillOnDrop(Some(cmd.spawn().expect("starting the child process")))
    }

    pub fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("a running child")
    }

    pub fn id(&self) -> u32 {
        self.0.as_ref().expect("a running child").id()
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        self.child()
            .try_wait()
            .expect("polling the child")
            .is_none()
    }

    /// SIGKILL (no shutdown code runs), then reaps it.
    pub fn kill(mut self) {
        let mut c = self.0.take().expect("a running child");
        c.kill().unwrap();
        c.wait().unwrap();
    }

    /// Sends `signal` (`"-HUP"`, `"-TERM"`) with kill(1).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal} failed");
    }

    /// Waits up to `within` for it to exit by itself; its exit status.
    /// Fails the test (and the drop kills it) if it is still running.
    pub async fn exit_within(
        &mut self,
        within: Duration,
        context: impl Fn() -> String,
    ) -> std::process::ExitStatus {
        let d = super::wait::Deadline::after(within);
        let status = loop {
            if let Some(s) = self.child().try_wait().unwrap() {
                break s;
            }
            d.wait(|| format!("still running {within:?} later\n{}", context()))
                .await;
        };
        self.0 = None;
        status
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs `cmd` to completion and collects its output, like
/// `Command::output`, but SIGKILLs it and fails the test if it has not
/// exited within `within` (a command that should refuse to start and
/// doesn't would otherwise hang the suite). Blocking: call it from
/// `spawn_blocking` in an async test.
pub fn output_within(cmd: &mut Command, within: Duration) -> Output {
    use std::io::Read;
    let mut child = KillOnDrop::spawn(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let mut out = child.child().stdout.take().unwrap();
    let mut err = child.child().stderr.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let stderr = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let deadline = std::time::Instant::now() + within;
    let status = loop {
        if let Some(s) = child.child().try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() >= deadline {
            drop(child);
            panic!("{cmd:?} still running after {within:?}");
        }
        std::thread::sleep(super::wait::POLL);
    };
    child.0 = None;
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}
