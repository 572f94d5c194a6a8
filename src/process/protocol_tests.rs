//! The parent/init conversation of `sync.rs`, driven without root: berth's
//! side (`parent::serve_init`, `parent::start`) against a scripted init,
//! the init's side (`init::create_hooks`, `init::wait_for_start`,
//! `finish::Started`) against a scripted berth, and both real sides
//! against each other through the whole create and start. The "init" is a
//! thread of the test; the container's pid in the state is a `sleep` child,
//! so that liveness checks and a destroy have a real process to act on.

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::thread;

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use super::sync::{self, Channel, Message};
use super::{init, parent, Options, Plan};
use crate::error::Error;
use crate::state::lock::Lock;
use crate::state::store::ContainerDir;
use crate::state::{self, Status, Stored};

/// One step of a scripted peer.
enum Step {
    Send(Message),
    /// Send the message with a descriptor attached (SCM_RIGHTS).
    SendFd(Message, OwnedFd),
    /// The next message must be exactly this one.
    Expect(Message),
    /// The next message must be an `Error` whose text contains this.
    ExpectError(&'static str),
    /// The next message must be `HooksDone`; its state is kept.
    ExpectHooksDone,
}
use Step::*;

/// Play `script` on `chan`, then close it (as a process that exits).
/// Returns the states `ExpectHooksDone` received, or what went out of
/// script.
fn play(chan: Channel, script: Vec<Step>) -> Result<Vec<String>, String> {
    let mut states = Vec::new();
    for step in script {
        match step {
            Send(m) => chan.send(&m).map_err(|e| format!("send {m:?}: {e}"))?,
            SendFd(m, fd) => chan.send_with(&m, &[fd.as_fd()]).map_err(|e| format!("send {m:?}: {e}"))?,
            Expect(want) => match chan.recv() {
                Ok(Some(got)) if got == want => {}
                other => return Err(format!("expected {want:?}, got {other:?}")),
            },
            ExpectError(text) => match chan.recv() {
                Ok(Some(Message::Error(e))) if e.contains(text) => {}
                other => return Err(format!("expected an error with `{text}`, got {other:?}")),
            },
            ExpectHooksDone => match chan.recv() {
                Ok(Some(Message::HooksDone(st))) => states.push(st),
                other => return Err(format!("expected HooksDone, got {other:?}")),
            },
        }
    }
    Ok(states)
}

/// A bundle, its plan, a reserved state directory with the start
/// handshake's files, and a live process standing in for the init.
struct Fixture {
    _tmp: tempfile::TempDir,
    /// Where the hooks append their stage names and stdin.
    log: PathBuf,
    plan: Plan,
    dir: ContainerDir,
    lock: Option<Lock>,
    stored: Stored,
    init: Child,
}

impl Fixture {
    /// `extra`: more of config.json (e.g. `"hooks": {...}`), spliced in.
    fn new(extra: &str) -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let bundle = tmp.path().join("bundle");
        std::fs::create_dir_all(bundle.join("rootfs")).unwrap();
        let log = tmp.path().join("hooks.log");
        let config = format!(
            r#"{{"ociVersion": "1.0.2", "root": {{"path": "rootfs"}},
                "process": {{"args": ["/bin/true"], "cwd": "/", "user": {{"uid": 0, "gid": 0}}}},
                "linux": {{"namespaces": [{{"type": "mount"}}]}} {extra}}}"#
        )
        .replace("LOG", &log.display().to_string());
        let spec = crate::spec::load::parse_spec(config.as_bytes()).unwrap();
        let opts = Options { id: "proto".into(), bundle: bundle.clone(), ..Default::default() };
        let plan = super::plan(spec, bundle.clone(), &opts).unwrap();
        let dir = ContainerDir::new(&tmp.path().join("state"), "proto").unwrap();
        let lock = dir.reserve().unwrap();
        std::fs::write(dir.created_lock_path(), "").unwrap();
        nix::unistd::mkfifo(&dir.fifo_path(), Mode::from_bits_truncate(0o600)).unwrap();
        let init = Command::new("sleep").arg("60").spawn().unwrap();
        let pid = init.id() as i32;
        // From JSON, as `state.json` holds it: fields added later default.
        let stored: Stored = serde_json::from_value(serde_json::json!({
            "id": "proto",
            "pid": pid,
            "start_time": state::proc_stat(pid).unwrap().1,
            "bundle": bundle,
            "rootfs": plan.rootfs.rootfs,
            "created": "2026-12-05T00:00:00Z",
            "owner": "",
            "creating": true,
            "cgroup": null,
        }))
        .unwrap();
        dir.save(&stored).unwrap();
        Fixture { _tmp: tmp, log, plan, dir, lock: Some(lock), stored, init }
    }

    /// The state directory as the init gets it (O_PATH).
    fn state_dir(&self) -> OwnedFd {
        nix::fcntl::open(&self.dir.path, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()).unwrap()
    }

    fn cleanup<'a>(&'a self, lock: &'a Lock) -> parent::Cleanup<'a> {
        parent::Cleanup {
            dir: &self.dir,
            lock,
            cgroup: None,
            pid: None,
            poststop: None,
            net_devices: None,
            resctrl: None,
            // Nothing to undo: the tests look at what a failure leaves.
            armed: false,
        }
    }

    /// berth's side of create after `Go`, against `script` played by the
    /// init. Returns serve_init's result, the peer's, and whether the
    /// poststop hooks were armed.
    fn serve(&self, script: Vec<Step>) -> (Result<(), Error>, Result<Vec<String>, String>, bool) {
        let (berth, init) = sync::pair().unwrap();
        let peer = thread::spawn(move || play(init, script));
        let mut cleanup = self.cleanup(self.lock.as_ref().unwrap());
        let r = parent::serve_init(&berth, &self.plan, &self.stored, &mut cleanup);
        drop(berth);
        (r, peer.join().unwrap(), cleanup.poststop.is_some())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.init.kill();
        let _ = self.init.wait();
    }
}

/// A hook that appends `<stage>` and then its stdin (the state) to LOG.
fn hook(stage: &str) -> String {
    format!(r#"[{{"path": "/bin/sh", "args": ["sh", "-c", "echo {stage} >> LOG; cat >> LOG; echo >> LOG"]}}]"#)
}

fn hooks(stages: &[&str]) -> String {
    let list: Vec<String> = stages.iter().map(|s| format!("\"{s}\": {}", hook(s))).collect();
    format!(r#", "hooks": {{{}}}"#, list.join(", "))
}

/// The stage names the hooks logged, in order.
fn stages(log: &str) -> Vec<&str> {
    log.lines().filter(|l| !l.starts_with('{') && !l.is_empty()).collect()
}

#[test]
fn every_message_crosses_the_socket_intact() {
    let (a, b) = sync::pair().unwrap();
    let all = [
        Message::Go,
        Message::CreateHooks,
        Message::HooksDone(r#"{"id":"x","status":"created"}"#.into()),
        Message::SeccompFd,
        Message::SeccompDone,
        Message::Forked(4242),
        Message::Ready,
        Message::Error("mount `proc` on `/proc`: permission denied".into()),
    ];
    for m in &all {
        a.send(m).unwrap();
        assert_eq!(b.recv().unwrap().as_ref(), Some(m));
    }
}

#[test]
fn create_runs_the_runtime_hooks_when_the_init_asks_then_waits_for_ready() {
    let f = Fixture::new(&hooks(&["prestart", "createRuntime"]));
    let (r, peer, poststop) = f.serve(vec![Send(Message::CreateHooks), ExpectHooksDone, Send(Message::Ready)]);
    r.unwrap();
    assert!(poststop, "once the create hooks ran, a failure goes on to the poststop hooks");
    assert_eq!(stages(&f.log()), ["prestart", "createRuntime"]);
    // The init is told the state the hooks got on stdin (for createContainer).
    let st: serde_json::Value = serde_json::from_str(&peer.unwrap()[0]).unwrap();
    assert_eq!((st["id"].as_str(), st["pid"].as_i64()), (Some("proto"), Some(i64::from(f.stored.pid))));
    let logged: serde_json::Value = serde_json::from_str(f.log().lines().nth(1).unwrap()).unwrap();
    assert_eq!(logged, st);
}

#[test]
fn an_error_from_the_init_is_the_create_error() {
    let f = Fixture::new("");
    let msg = "mount `proc` on `/proc`: permission denied";
    let (r, peer, poststop) = f.serve(vec![Send(Message::Error(msg.into()))]);
    peer.unwrap();
    assert!(matches!(r, Err(Error::Init(ref m)) if m == msg), "{r:?}");
    assert!(!poststop, "no create hook ran: no poststop hooks");
}

#[test]
fn a_failing_prestart_hook_is_told_to_the_init_and_skips_create_runtime() {
    let f = Fixture::new(&format!(
        r#", "hooks": {{"prestart": [{{"path": "/bin/false"}}], "createRuntime": {}}}"#,
        hook("createRuntime")
    ));
    let (r, peer, poststop) = f.serve(vec![Send(Message::CreateHooks), ExpectError("prestart")]);
    peer.unwrap();
    assert!(r.unwrap_err().to_string().contains("prestart"));
    assert!(poststop);
    assert_eq!(f.log(), "", "createRuntime never ran");
}

#[test]
fn an_init_that_dies_is_explained_by_its_wait_status() {
    let mut f = Fixture::new("");
    let mut dead = Command::new("sh").args(["-c", "exit 3"]).spawn().unwrap();
    f.stored.pid = dead.id() as i32;
    // A zombie by now (unreaped: serve_init reaps it for its status).
    while state::proc_stat(f.stored.pid).is_some_and(|(s, _)| s != 'Z') {
        thread::sleep(std::time::Duration::from_millis(1));
    }
    let (r, peer, _) = f.serve(vec![]);
    peer.unwrap();
    let e = r.unwrap_err().to_string();
    assert_eq!(e, "the container init exited with status 3 during create");
    assert!(dead.wait().is_err(), "serve_init reaped it");
}

#[test]
fn a_message_out_of_turn_is_an_error() {
    let f = Fixture::new("");
    let (r, peer, _) = f.serve(vec![Send(Message::HooksDone("{}".into()))]);
    peer.unwrap();
    assert!(r.unwrap_err().to_string().contains("unexpected message HooksDone"));
}

#[test]
fn the_seccomp_listener_goes_to_the_agent_before_the_init_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let sock = tmp.path().join("agent.sock");
    let agent = UnixListener::bind(&sock).unwrap();
    let f = Fixture::new(&format!(
        r#", "linux": {{"namespaces": [{{"type": "mount"}}],
              "seccomp": {{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "{}", "listenerMetadata": "meta",
                           "syscalls": [{{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}}]}}}}"#,
        sock.display()
    ));
    let got = thread::spawn(move || {
        let (conn, _) = agent.accept().unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let (n, fd) = crate::fdpass::recv(conn.as_fd(), &mut buf).unwrap();
        (serde_json::from_slice::<serde_json::Value>(&buf[..n]).unwrap(), fd)
    });
    // Any descriptor stands in for the listener: berth only passes it on.
    let (listener, mut other_end) = std::os::unix::net::UnixStream::pair().unwrap();
    let script = vec![SendFd(Message::SeccompFd, listener.into()), Expect(Message::SeccompDone), Send(Message::Ready)];
    let (r, peer, _) = f.serve(script);
    r.unwrap();
    peer.unwrap();
    let (st, fd) = got.join().unwrap();
    assert_eq!(st["metadata"], "meta");
    assert_eq!(st["state"]["id"], "proto");
    assert_eq!(st["pid"], f.stored.pid);
    let passed = std::os::unix::net::UnixStream::from(fd.expect("the listener reached the agent"));
    drop(passed);
    assert_eq!(other_end.read(&mut [0u8; 1]).unwrap(), 0, "it was the init's descriptor, and it is closed now");
}

#[test]
fn a_listener_berth_cannot_pass_on_stops_the_init() {
    // Without a descriptor.
    let tmp = tempfile::tempdir().unwrap();
    let sock = tmp.path().join("nobody.sock");
    let f = Fixture::new(&format!(
        r#", "linux": {{"namespaces": [{{"type": "mount"}}],
              "seccomp": {{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "{}",
                           "syscalls": [{{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}}]}}}}"#,
        sock.display()
    ));
    let (r, peer, _) = f.serve(vec![Send(Message::SeccompFd), ExpectError("sent no seccomp listener")]);
    peer.unwrap();
    assert!(r.is_err());
    // To an agent that is not there.
    let (fd, _keep) = std::os::unix::net::UnixStream::pair().unwrap();
    let (r, peer, _) = f.serve(vec![SendFd(Message::SeccompFd, fd.into()), ExpectError("listenerPath")]);
    peer.unwrap();
    assert!(r.unwrap_err().to_string().contains(&sock.display().to_string()));
}

#[test]
fn the_init_waits_for_hooks_done_and_runs_create_container_with_that_state() {
    let f = Fixture::new(&hooks(&["createContainer"]));
    let (berth, chan) = sync::pair().unwrap();
    let state = r#"{"ociVersion":"1.0.2","id":"proto","status":"created","pid":7,"bundle":"/b"}"#;
    let peer =
        thread::spawn(move || play(berth, vec![Expect(Message::CreateHooks), Send(Message::HooksDone(state.into()))]));
    assert_eq!(init::create_hooks(&f.plan, &chan).unwrap(), state);
    peer.join().unwrap().unwrap();
    assert_eq!(f.log(), format!("createContainer\n{state}\n"));

    // berth failed meanwhile (a prestart hook), or died.
    for (script, want) in [
        (vec![Expect(Message::CreateHooks), Send(Message::Error("prestart hook #0 failed".into()))], "prestart hook"),
        (vec![Expect(Message::CreateHooks)], "berth exited during create"),
        (vec![Expect(Message::CreateHooks), Send(Message::Ready)], "unexpected message Ready"),
    ] {
        let (berth, chan) = sync::pair().unwrap();
        let peer = thread::spawn(move || play(berth, script));
        let e = init::create_hooks(&f.plan, &chan).unwrap_err().to_string();
        assert!(e.contains(want), "{e}");
        peer.join().unwrap().unwrap();
    }
}

/// The init's side of the start handshake in a thread of `s`: report
/// created, wait for `start`, run the startContainer hooks, then (standing
/// in for the rest of the tail) fail with `after_gate` if given, and close
/// the fifo as the execve would.
fn init_until_exec<'s>(
    s: &'s thread::Scope<'s, '_>,
    f: &'s Fixture,
    chan: Channel,
    after_gate: Option<&'s str>,
) -> thread::ScopedJoinHandle<'s, Result<(), String>> {
    let dir = f.state_dir();
    s.spawn(move || {
        let started =
            init::wait_for_start(&chan, Some(dir.as_fd()), &f.plan, r#"{"id":"proto"}"#).map_err(|e| e.to_string())?;
        if let Some(msg) = after_gate {
            started.failed(&Error::Init(msg.into()));
        }
        drop(started);
        Ok(())
    })
}

#[test]
fn start_releases_a_created_init_and_returns_once_it_executed() {
    let mut f = Fixture::new(&hooks(&["startContainer", "poststart"]));
    f.stored.creating = false;
    let lock = f.lock.take().unwrap();
    let (berth, chan) = sync::pair().unwrap();
    thread::scope(|s| {
        let init = init_until_exec(s, &f, chan, None);
        assert_eq!(berth.recv().unwrap(), Some(Message::Ready));
        // Ready comes with the read lock on created.lock: `state` says created.
        assert_eq!(f.dir.status(&f.stored), Status::Created);
        assert_eq!(f.log(), "", "no startContainer hook before start");
        parent::start(&f.dir, lock, &f.stored, &f.plan.spec).unwrap();
        init.join().unwrap().unwrap();
    });
    assert_eq!(stages(&f.log()), ["startContainer", "poststart"]);
    assert_eq!(f.dir.status(&f.stored), Status::Running, "released: running, not created");
    assert!(!f.dir.fifo_path().exists(), "start removes the fifo");
}

#[test]
fn a_failing_start_container_hook_fails_start_and_destroys_the_container() {
    let mut f = Fixture::new(r#", "hooks": {"startContainer": [{"path": "/bin/false"}]}"#);
    f.stored.creating = false;
    let lock = f.lock.take().unwrap();
    let (berth, chan) = sync::pair().unwrap();
    thread::scope(|s| {
        let init = init_until_exec(s, &f, chan, None);
        assert_eq!(berth.recv().unwrap(), Some(Message::Ready));
        let e = parent::start(&f.dir, lock, &f.stored, &f.plan.spec).unwrap_err();
        assert!(e.to_string().contains("startContainer"), "{e}");
        assert!(init.join().unwrap().unwrap_err().contains("startContainer"));
    });
    assert!(!f.dir.path.exists(), "the container is destroyed");
    let status = f.init.wait().unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGKILL));
}

#[test]
fn a_failure_between_the_gate_and_the_exec_reaches_start() {
    let mut f = Fixture::new("");
    f.stored.creating = false;
    let lock = f.lock.take().unwrap();
    let (berth, chan) = sync::pair().unwrap();
    let why = "exec `/bin/nope`: no such file or directory";
    thread::scope(|s| {
        let init = init_until_exec(s, &f, chan, Some(why));
        assert_eq!(berth.recv().unwrap(), Some(Message::Ready));
        let e = parent::start(&f.dir, lock, &f.stored, &f.plan.spec).unwrap_err();
        assert_eq!(e.to_string(), why);
        init.join().unwrap().unwrap();
    });
    // Not destroyed: it stopped on its own, for `delete` to remove.
    assert!(f.dir.path.exists());
}

#[test]
fn start_of_an_init_that_is_gone_says_so() {
    let mut f = Fixture::new("");
    f.stored.creating = false;
    let mut gone = Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    f.stored.pid = gone.id() as i32;
    let e = parent::start(&f.dir, f.lock.take().unwrap(), &f.stored, &f.plan.spec).unwrap_err();
    assert!(matches!(e, Error::Status(ref m) if m == "container init exited before start"), "{e:?}");
}

#[test]
fn both_sides_through_create_and_start() {
    let mut f = Fixture::new(&hooks(&["prestart", "createRuntime", "createContainer", "startContainer", "poststart"]));
    let lock = f.lock.take().unwrap();
    let (berth, chan) = sync::pair().unwrap();
    let dir = f.state_dir();
    let mut stored = f.stored.clone();
    thread::scope(|s| {
        let plan = &f.plan;
        let init = s.spawn(move || -> crate::Result<()> {
            init::wait_for(&chan, "go")?;
            let state = init::create_hooks(plan, &chan)?;
            drop(init::wait_for_start(&chan, Some(dir.as_fd()), plan, &state)?);
            Ok(())
        });
        berth.send(&Message::Go).unwrap();
        let mut cleanup = f.cleanup(&lock);
        parent::serve_init(&berth, &f.plan, &stored, &mut cleanup).unwrap();
        drop(cleanup);
        stored.creating = false;
        assert_eq!(f.dir.status(&stored), Status::Created);
        parent::start(&f.dir, lock, &stored, &f.plan.spec).unwrap();
        init.join().unwrap().unwrap();
    });
    assert_eq!(stages(&f.log()), ["prestart", "createRuntime", "createContainer", "startContainer", "poststart"]);
    assert_eq!(f.dir.status(&stored), Status::Running);
}
