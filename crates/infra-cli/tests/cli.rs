//! The command line as a user runs it: the real binaries (`infra-demo`, a
//! stack program, and the `infra` driver) in a fresh project directory,
//! against the simulated cloud persisted in a file and the local state
//! backend. Stdin is never a terminal here, except where a test runs the
//! program under a pseudo-terminal (`script`) to answer the confirmation.
//!
//! Goldens: `UPDATE_GOLDEN=1 cargo test -p infra-cli --features sim --test cli`
//! rewrites them; review the diff.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

const DEMO: &str = env!("CARGO_BIN_EXE_infra-demo");
const INFRA: &str = env!("CARGO_BIN_EXE_infra");

/// A project directory with its own simulated cloud and state.
struct Project {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        Project { dir, env: Vec::new() }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Sets an environment variable for every later command.
    fn set(&mut self, k: &str, v: &str) -> &mut Self {
        self.env.retain(|(key, _)| key != k);
        self.env.push((k.into(), v.into()));
        self
    }

    fn unset(&mut self, k: &str) -> &mut Self {
        self.env.retain(|(key, _)| key != k);
        self
    }

    fn command(&self, exe: &str) -> Command {
        let mut c = Command::new(exe);
        c.current_dir(self.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("INFRA_SIM_CLOUD", self.path().join("cloud.json"))
            // Nothing here may reach AWS: the simulated cloud answers, and
            // the SDK would find only a dead loopback endpoint and dummy keys.
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("NO_COLOR", "1");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Runs the stack program on stack `dev`.
    fn demo(&self, args: &[&str]) -> Output {
        let mut c = self.command(DEMO);
        c.args(["--stack", "dev"]).args(args);
        c.output().unwrap()
    }

    /// Runs the `infra` driver.
    fn infra(&self, args: &[&str]) -> Output {
        let mut c = self.command(INFRA);
        c.args(args);
        c.output().unwrap()
    }

    /// The resources of the simulated cloud: (id, type).
    fn cloud(&self) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(self.path().join("cloud.json")).unwrap_or_default();
        if text.is_empty() {
            return Vec::new();
        }
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["id"].as_str().unwrap().to_owned(), r["type_name"].as_str().unwrap().to_owned()))
            .collect()
    }

    /// `state list` of stack dev.
    fn state_list(&self) -> Vec<String> {
        let out = self.demo(&["state", "list"]);
        ok(&out);
        stdout(&out).lines().map(str::to_owned).collect()
    }

    fn state_file(&self) -> PathBuf {
        self.path().join(".infra/state/dev.infra-state.json")
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

#[track_caller]
fn ok(o: &Output) {
    assert_eq!(code(o), 0, "expected success\n--- stdout\n{}\n--- stderr\n{}", stdout(o), stderr(o));
}

#[track_caller]
fn fails_with(o: &Output, code_wanted: i32, needle: &str) {
    assert_eq!(code(o), code_wanted, "--- stdout\n{}\n--- stderr\n{}", stdout(o), stderr(o));
    assert!(stderr(o).contains(needle), "stderr lacks {needle:?}:\n{}", stderr(o));
}

/// One data-driven case of an exit code: (label, args, extra env, code).
type Case<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)], i32);

fn check_codes(p: &mut Project, cases: &[Case<'_>]) {
    for (label, args, env, expected) in cases {
        for (k, v) in *env {
            p.set(k, v);
        }
        let out = p.demo(args);
        assert_eq!(
            code(&out),
            *expected,
            "{label}: `{}` exited {}\n--- stdout\n{}\n--- stderr\n{}",
            args.join(" "),
            code(&out),
            stdout(&out),
            stderr(&out)
        );
        for (k, _) in *env {
            p.unset(k);
        }
    }
}

#[test]
fn plan_exit_codes_follow_terraform() {
    let mut p = Project::new();
    check_codes(
        &mut p,
        &[
            ("fresh, detailed: changes", &["plan", "--detailed-exitcode"], &[], 2),
            ("fresh, plain", &["plan"], &[], 0),
            ("invalid stack", &["plan", "--detailed-exitcode"], &[("DEMO_BROKEN", "1")], 1),
            ("apply", &["apply", "--yes"], &[], 0),
            ("converged", &["plan", "--detailed-exitcode"], &[], 0),
            ("an update", &["plan", "--detailed-exitcode"], &[("DEMO_DB_SIZE", "2")], 2),
            ("unknown stack", &["--stack", "qa", "plan"], &[], 1),
        ],
    );
    // Planning never writes: the state still has its first apply only.
    let out = p.demo(&["state", "history"]);
    ok(&out);
    assert!(stdout(&out).contains("Stack \"dev\" has no earlier versions."), "{}", stdout(&out));
}

#[test]
fn apply_without_a_terminal_refuses_unless_yes() {
    let p = Project::new();
    let out = p.demo(&["apply"]);
    fails_with(&out, 1, "apply needs confirmation, and there is no terminal to ask on");
    assert!(p.cloud().is_empty(), "nothing may be created: {:?}", p.cloud());
    assert!(!p.state_file().exists(), "no state may be written");

    let out = p.demo(&["apply", "--yes"]);
    ok(&out);
    let text = stdout(&out);
    assert!(text.contains("Plan: 4 to add, 0 to change, 0 to destroy."), "{text}");
    assert!(text.contains("vpc: Creation complete after"), "{text}");
    assert!(text.contains("Apply complete! Resources: 4 added, 0 changed, 0 destroyed."), "{text}");
    assert_eq!(p.cloud().len(), 4);
    assert_eq!(p.state_list(), ["db", "subnet-a", "subnet-b", "vpc"]);

    // Destroy asks the same way.
    let out = p.demo(&["destroy"]);
    fails_with(&out, 1, "destroy needs confirmation, and there is no terminal to ask on");
    assert!(stderr(&out).contains("`plan --destroy --out FILE`"), "{}", stderr(&out));
    assert_eq!(p.cloud().len(), 4);
}

/// Runs `command` under a pseudo-terminal (util-linux `script`), typing
/// `answer` at the prompt.
fn on_terminal(p: &Project, command: &str, answer: &str) -> Output {
    let mut c = p.command("script");
    c.args(["-qec", command, "/dev/null"]).write_stdin(format!("{answer}\n"));
    c.output().expect("util-linux `script` runs the program under a pseudo-terminal")
}

#[test]
fn apply_on_a_terminal_asks_and_only_yes_applies() {
    let p = Project::new();
    let out = on_terminal(&p, &format!("{DEMO} --stack dev apply"), "no");
    let text = stdout(&out);
    assert!(text.contains("Do you want to apply these changes to stack \"dev\"?"), "{text}");
    assert!(text.contains("not approved; nothing was changed"), "{text}");
    assert_ne!(code(&out), 0);
    assert!(p.cloud().is_empty(), "{:?}", p.cloud());

    let out = on_terminal(&p, &format!("{DEMO} --stack dev apply"), "yes");
    let text = stdout(&out);
    assert_eq!(code(&out), 0, "{text}");
    assert!(text.contains("Apply complete! Resources: 4 added"), "{text}");
    assert_eq!(p.cloud().len(), 4);
}

#[test]
fn a_saved_plan_is_applied_exactly_and_refused_once_stale() {
    let mut p = Project::new();
    let plan = p.path().join("first.plan");
    ok(&p.demo(&["plan", "--out", plan.to_str().unwrap()]));
    // Applied without asking (it was reviewed when saved), even with no TTY;
    // a changed program does not change what the saved plan does.
    p.set("DEMO_SUBNETS", "3");
    let out = p.demo(&["apply", plan.to_str().unwrap()]);
    ok(&out);
    assert!(stdout(&out).contains("4 added"), "{}", stdout(&out));
    assert_eq!(p.state_list(), ["db", "subnet-a", "subnet-b", "vpc"]);

    // Applying it again: the state moved on.
    let out = p.demo(&["apply", plan.to_str().unwrap()]);
    fails_with(&out, 1, "the saved plan is stale");

    // A plan saved, then someone else applies: refused, nothing changes.
    let second = p.path().join("second.plan");
    ok(&p.demo(&["plan", "--out", second.to_str().unwrap()]));
    p.set("DEMO_DB_SIZE", "3");
    ok(&p.demo(&["apply", "--yes"]));
    let before = std::fs::read(p.state_file()).unwrap();
    let cloud_before = p.cloud();
    let out = p.demo(&["apply", second.to_str().unwrap()]);
    fails_with(&out, 1, "the saved plan is stale");
    assert!(stderr(&out).contains("run `plan --out FILE` again"), "{}", stderr(&out));
    assert_eq!(std::fs::read(p.state_file()).unwrap(), before, "a refused plan writes nothing");
    assert_eq!(p.cloud(), cloud_before);

    // A plan for another stack is refused by name.
    let out = p.command(DEMO).args(["--stack", "prod", "apply", second.to_str().unwrap()]).output().unwrap();
    fails_with(&out, 1, "the plan is for stack \"dev\", not \"prod\"");
}

#[test]
fn destroy_deletes_everything_and_works_without_the_program() {
    let p = Project::new();
    ok(&p.demo(&["apply", "--yes"]));
    ok(&p.command(DEMO).args(["--stack", "prod", "apply", "--yes"]).output().unwrap());
    assert_eq!(p.cloud().len(), 8);

    // The stack program destroys dev.
    let out = p.demo(&["destroy", "--yes"]);
    ok(&out);
    assert!(
        stdout(&out).contains("Destroy complete! Resources: 0 added, 0 changed, 4 destroyed."),
        "{}",
        stdout(&out)
    );
    assert_eq!(p.state_list(), Vec::<String>::new());
    assert_eq!(p.cloud().len(), 4);

    // `infra destroy` with no program configured: from the state alone.
    std::fs::write(p.path().join("infra.toml"), "stack = \"prod\"\n").unwrap();
    let out = p.infra(&["destroy", "--yes"]);
    ok(&out);
    assert!(stdout(&out).contains("4 destroyed"), "{}", stdout(&out));
    assert!(p.cloud().is_empty(), "{:?}", p.cloud());
}

#[test]
fn import_then_the_plan_is_empty() {
    let p = Project::new();
    ok(&p.demo(&["apply", "--yes"]));
    let shown = stdout(&p.demo(&["state", "show", "subnet-b"]));
    let id = shown.lines().find_map(|l| l.strip_prefix("id       = ")).unwrap().to_owned();
    ok(&p.demo(&["state", "rm", "subnet-b"]));
    assert_eq!(p.demo(&["plan", "--detailed-exitcode"]).status.code(), Some(2), "subnet-b is to be created");

    let out = p.demo(&["import", "subnet-b", &id]);
    ok(&out);
    assert!(stdout(&out).contains(&format!("Imported subnet-b (ID {id})")), "{}", stdout(&out));
    let out = p.demo(&["plan", "--detailed-exitcode"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(p.cloud().len(), 4, "nothing was created twice");

    // Importing over a managed address, or an ID that does not exist.
    fails_with(&p.demo(&["import", "subnet-b", &id]), 1, "already managed");
    ok(&p.demo(&["state", "rm", "subnet-b"]));
    fails_with(
        &p.demo(&["import", "subnet-b", "subnet-missing"]),
        1,
        "no aws:ec2:Subnet with ID \"subnet-missing\"",
    );
}

#[test]
fn state_rm_and_mv_edit_only_the_state() {
    let p = Project::new();
    ok(&p.demo(&["apply", "--yes"]));
    let cloud = p.cloud();

    let out = p.demo(&["state", "mv", "subnet-a", "subnet-x"]);
    ok(&out);
    assert!(stdout(&out).contains("Moved subnet-a to subnet-x."));
    assert_eq!(p.state_list(), ["db", "subnet-b", "subnet-x", "vpc"]);
    let plan = stdout(&p.demo(&["plan", "--refresh=false"]));
    assert!(plan.contains("# subnet-a (aws:ec2:Subnet) will be created"), "{plan}");
    assert!(plan.contains("# subnet-x (aws:ec2:Subnet) will be destroyed"), "{plan}");
    ok(&p.demo(&["state", "mv", "subnet-x", "subnet-a"]));
    assert_eq!(code(&p.demo(&["plan", "--detailed-exitcode"])), 0);

    fails_with(&p.demo(&["state", "mv", "subnet-a", "subnet-b"]), 1, "subnet-b is already in the state");
    fails_with(&p.demo(&["state", "mv", "nothing", "x"]), 1, "nothing: not in the state of stack \"dev\"");

    let out = p.demo(&["state", "rm", "db"]);
    ok(&out);
    assert!(stdout(&out).contains("Removed db from the state (it still exists in the cloud)."));
    assert_eq!(p.state_list(), ["subnet-a", "subnet-b", "vpc"]);
    assert_eq!(p.cloud(), cloud, "state edits never touch the cloud");

    // Each edit is one operation in the history, and pull/push round-trip.
    let history = stdout(&p.demo(&["state", "history"]));
    assert_eq!(history.lines().count(), 3, "{history}");
    let pulled = p.demo(&["state", "pull"]);
    ok(&pulled);
    let file = p.path().join("pulled.json");
    std::fs::write(&file, &pulled.stdout).unwrap();
    ok(&p.demo(&["state", "push", file.to_str().unwrap()]));
    assert_eq!(p.state_list(), ["subnet-a", "subnet-b", "vpc"]);
    let out = p.command(DEMO).args(["--stack", "prod", "apply", "--yes"]).output().unwrap();
    ok(&out);
    let prod = p.command(DEMO).args(["--stack", "prod", "state", "pull"]).output().unwrap();
    let prod_file = p.path().join("prod.json");
    std::fs::write(&prod_file, &prod.stdout).unwrap();
    fails_with(&p.demo(&["state", "push", prod_file.to_str().unwrap()]), 1, "is not the stored lineage");
}

#[test]
fn outputs_print_and_secrets_never_do() {
    let p = Project::new();
    let applied = p.demo(&["apply", "--yes"]);
    ok(&applied);
    let vpc_id = stdout(&p.demo(&["output", "vpc_id"])).trim().to_owned();
    assert!(vpc_id.starts_with("vpc-"), "{vpc_id}");
    assert_eq!(stdout(&p.demo(&["output", "db_password"])).trim(), "(sensitive)");
    let all: serde_json::Value = serde_json::from_slice(&p.demo(&["output", "--json"]).stdout).unwrap();
    assert_eq!(all["vpc_id"], vpc_id.as_str());
    assert_eq!(all["db_password"], "(sensitive)");
    assert_eq!(all["subnet_ids"].as_array().unwrap().len(), 2);
    fails_with(&p.demo(&["output", "nope"]), 1, "has no output \"nope\"");

    // The driver reads outputs from the state alone.
    std::fs::write(p.path().join("infra.toml"), "stack = \"dev\"\n").unwrap();
    assert_eq!(stdout(&p.infra(&["output", "vpc_id"])).trim(), vpc_id);

    // The password appears nowhere: not in output, state or plan files.
    let shown = [
        stdout(&applied),
        stdout(&p.demo(&["state", "show", "db"])),
        stdout(&p.demo(&["state", "pull"])),
        stdout(&p.demo(&["plan", "--json"])),
        std::fs::read_to_string(p.state_file()).unwrap(),
    ];
    for text in shown {
        assert!(!text.contains("hunter2"), "a secret leaked:\n{text}");
    }
    assert!(stdout(&p.demo(&["state", "show", "db"])).contains("password = (sensitive)"));
}

#[test]
fn target_plans_and_applies_only_the_target_and_its_dependencies() {
    let p = Project::new();
    let out = p.demo(&["plan", "--target", "subnet-a", "--detailed-exitcode"]);
    assert_eq!(code(&out), 2);
    let text = stdout(&out);
    assert!(text.contains("Plan: 2 to add"), "{text}");
    assert!(text.contains("# vpc ") && text.contains("# subnet-a "), "{text}");
    assert!(!text.contains("# subnet-b ") && !text.contains("# db "), "{text}");

    ok(&p.demo(&["apply", "--target", "subnet-a", "--yes"]));
    assert_eq!(p.state_list(), ["subnet-a", "vpc"]);
    fails_with(
        &p.demo(&["plan", "--target", "nothing.here"]),
        1,
        "no resource is declared at or under this address",
    );
    fails_with(&p.demo(&["destroy", "--yes", "--target", "db"]), 1, "db: not in the state");
    ok(&p.demo(&["destroy", "--yes", "--target", "vpc"]));
    assert_eq!(p.state_list(), Vec::<String>::new(), "the subnet depends on the VPC, so it goes too");
}

#[test]
fn validate_reports_every_problem_at_once() {
    let mut p = Project::new();
    ok(&p.demo(&["validate"]));
    p.set("DEMO_BROKEN", "1");
    let out = p.demo(&["validate"]);
    fails_with(&out, 1, "the stack is invalid: 4 problems");
    let err = stderr(&out);
    for needle in [
        "vpc: field `secondary_cidr_blocks[0]`: \"10.200.0.0/33\" is not a CIDR block",
        "subnet-a: field `cidr_block`: 192.168.0.0/24 is outside the blocks of its VPC vpc",
        "subnet-b: field `cidr_block`: 192.168.0.0/24 is outside the blocks of its VPC vpc",
        "subnet-b: field `cidr_block`: 192.168.0.0/24 overlaps subnet subnet-a",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in\n{err}");
    }
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "{err}");
    assert!(!p.path().join("cloud.json").exists() || p.cloud().is_empty());
}

#[test]
fn drift_is_reported_and_refresh_records_it() {
    let p = Project::new();
    ok(&p.demo(&["apply", "--yes"]));
    assert_eq!(code(&p.demo(&["drift"])), 0);
    // Delete subnet-b and resize the database outside infra.
    let path = p.path().join("cloud.json");
    let mut cloud: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let resources = cloud["resources"].as_array_mut().unwrap();
    resources.retain(|r| !(r["type_name"] == "aws:ec2:Subnet" && r["inputs"]["cidr_block"] == "10.1.1.0/24"));
    for r in resources.iter_mut() {
        if r["type_name"] == "demo:db:Database" {
            r["inputs"]["size"] = serde_json::json!(7);
        }
    }
    std::fs::write(&path, serde_json::to_vec(&cloud).unwrap()).unwrap();

    let out = p.demo(&["drift"]);
    assert_eq!(code(&out), 2, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("~ db changed outside infra:"), "{text}");
    assert!(text.contains("size: 1 -> 7"), "{text}");
    assert!(text.contains("- subnet-b was deleted outside infra"), "{text}");
    // Drift wrote nothing; refresh records it; apply restores the declaration.
    assert_eq!(p.state_list(), ["db", "subnet-a", "subnet-b", "vpc"]);
    let out = p.demo(&["refresh"]);
    ok(&out);
    assert!(
        stdout(&out).contains("subnet-b: removed from the state (deleted outside infra)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(p.state_list(), ["db", "subnet-a", "vpc"]);
    assert_eq!(code(&p.demo(&["drift"])), 0);
    let plan = stdout(&p.demo(&["plan"]));
    assert!(plan.contains("Plan: 1 to add, 1 to change, 0 to destroy."), "{plan}");
    ok(&p.demo(&["apply", "--yes"]));
    assert_eq!(code(&p.demo(&["plan", "--detailed-exitcode"])), 0);
}

/// The state's serial and its history entries.
fn serial_and_history(p: &Project) -> (u64, Vec<String>) {
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(p.state_file()).unwrap()).unwrap();
    let history = p.path().join(".infra/state/history/dev");
    let mut entries: Vec<String> = std::fs::read_dir(&history)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    entries.sort();
    (state["serial"].as_u64().unwrap(), entries)
}

#[test]
fn a_no_op_apply_and_a_refresh_that_finds_nothing_leave_the_serial_and_history() {
    let mut p = Project::new();
    ok(&p.demo(&["apply", "--yes"]));
    // A plan saved now, with a change in it, must still apply afterwards.
    let plan = p.path().join("saved.plan");
    p.set("DEMO_DB_SIZE", "5");
    ok(&p.demo(&["plan", "--out", plan.to_str().unwrap()]));
    p.unset("DEMO_DB_SIZE");
    let before = serial_and_history(&p);

    let out = p.demo(&["apply", "--yes"]);
    ok(&out);
    assert!(stdout(&out).contains("No changes"), "{}", stdout(&out));
    assert_eq!(serial_and_history(&p), before, "a no-op apply");
    ok(&p.demo(&["refresh"]));
    assert_eq!(serial_and_history(&p), before, "a refresh that found nothing new");

    let out = p.demo(&["apply", plan.to_str().unwrap()]);
    ok(&out);
    assert!(stdout(&out).contains("1 changed"), "{}", stdout(&out));
    assert_eq!(serial_and_history(&p).0, before.0 + 1, "the saved plan applied as one operation");
}

#[test]
fn apply_json_streams_one_event_per_line() {
    let p = Project::new();
    let out = p.demo(&["apply", "--yes", "--json"]);
    ok(&out);
    let events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"plan"));
    assert_eq!(events[0]["summary"]["add"], 4);
    assert_eq!(kinds.iter().filter(|k| **k == "started").count(), 4, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "done").count(), 4, "{kinds:?}");
    let last = events.last().unwrap();
    assert_eq!(last["event"], "summary");
    assert_eq!(last["success"], true);
    assert_eq!(last["applied"], 4);
}

#[test]
fn the_driver_runs_the_program_and_handles_state_commands_itself() {
    let p = Project::new();
    std::fs::write(
        p.path().join("infra.toml"),
        format!("program = [{:?}]\nstack = \"dev\"\n[backend]\nlocal = \"team-state\"\n", DEMO),
    )
    .unwrap();
    let out = p.infra(&["plan", "--detailed-exitcode"]);
    assert_eq!(code(&out), 2, "{}{}", stdout(&out), stderr(&out));
    ok(&p.infra(&["apply", "--yes"]));
    assert!(p.path().join("team-state/dev.infra-state.json").exists(), "the backend from infra.toml is used");
    assert_eq!(code(&p.infra(&["plan", "--detailed-exitcode"])), 0);
    assert_eq!(stdout(&p.infra(&["state", "list"])).lines().count(), 4);

    // State-only commands work with a program that cannot even start.
    std::fs::write(
        p.path().join("infra.toml"),
        "program = [\"/nonexistent/program\"]\nstack = \"dev\"\n[backend]\nlocal = \"team-state\"\n",
    )
    .unwrap();
    assert_eq!(stdout(&p.infra(&["state", "list"])).lines().count(), 4);
    assert!(stdout(&p.infra(&["output", "vpc_id"])).starts_with("vpc-"));
    fails_with(&p.infra(&["plan"]), 1, "running the stack program `/nonexistent/program`");
    ok(&p.infra(&["refresh"]));
    ok(&p.infra(&["destroy", "--yes"]));
    assert!(p.cloud().is_empty());

    // A bad config file names the file and the field.
    std::fs::write(p.path().join("infra.toml"), "stak = \"dev\"\n").unwrap();
    fails_with(&p.infra(&["state", "list"]), 1, "unknown field `stak`");
}

#[test]
fn a_locked_stack_names_its_holder_and_lock_timeout_waits() {
    let mut p = Project::new();
    // The database takes about 10 s at this scale, holding the lock.
    p.set("INFRA_SIM_TIME_SCALE", "0.02");
    let mut holder = std::process::Command::new(DEMO);
    holder.current_dir(p.path()).env_clear().args(["--stack", "dev", "apply", "--yes"]);
    holder.env("INFRA_SIM_CLOUD", p.path().join("cloud.json")).env("AWS_EC2_METADATA_DISABLED", "true");
    holder.env("INFRA_SIM_TIME_SCALE", "0.02").stdout(std::process::Stdio::null());
    let mut holder = holder.spawn().unwrap();
    let lock = p.path().join(".infra/state/dev.lock");
    for _ in 0..100 {
        if std::fs::read_to_string(&lock).is_ok_and(|t| t.contains("apply")) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    p.unset("INFRA_SIM_TIME_SCALE");
    // The waiting commands only edit the state: two processes must not
    // share one simulated cloud file at once (each holds its own copy).
    let out = p.demo(&["state", "rm", "db"]);
    fails_with(&out, 1, "stack \"dev\" is locked: held by");
    assert!(stderr(&out).contains("for apply since"), "{}", stderr(&out));
    assert!(stderr(&out).contains("--lock-timeout"), "the hint names the way to wait: {}", stderr(&out));
    // Waiting: the edit runs once the apply is done, on the state it saved.
    let out = p.demo(&["--lock-timeout", "60s", "state", "rm", "db"]);
    ok(&out);
    assert!(holder.wait().unwrap().success());
    assert_eq!(p.state_list(), ["subnet-a", "subnet-b", "vpc"]);
    assert_eq!(p.cloud().len(), 4);
    let history = stdout(&p.demo(&["state", "history"]));
    assert_eq!(history.lines().count(), 1, "apply, then the edit: {history}");
}

#[test]
fn force_unlock_needs_the_right_lock_id() {
    let p = Project::new();
    ok(&p.demo(&["apply", "--yes"]));
    fails_with(&p.demo(&["force-unlock", "not-the-id"]), 1, "not locked");
}

fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1 to create it", path.display()));
    assert!(
        expected == actual,
        "{} differs; run with UPDATE_GOLDEN=1 and review the diff.\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

/// Replaces what differs between runs: the random lineage, the cloud IDs
/// (resources are created in parallel, so their numbering varies; each
/// becomes `<address>#id`) and secret digests (the key is random per state).
fn stable(text: &str, state: Option<&serde_json::Value>) -> String {
    let mut out = text.to_owned();
    if let Some(state) = state {
        out = out.replace(state["lineage"].as_str().unwrap(), "00000000-0000-4000-8000-000000000000");
        for (address, r) in state["resources"].as_object().unwrap() {
            out = out.replace(r["id"].as_str().unwrap(), &format!("{address}#id"));
        }
    }
    let mut stable = String::new();
    let mut rest = out.as_str();
    while let Some(i) = rest.find("hmac-sha256:") {
        let end = i + "hmac-sha256:".len();
        stable.push_str(&rest[..end]);
        stable.push_str("(digest)");
        rest = rest[end..].trim_start_matches(|c: char| c.is_ascii_hexdigit());
    }
    stable.push_str(rest);
    stable
}

#[test]
fn plan_rendering_and_json_match_the_goldens() {
    let mut p = Project::new();
    let create = p.demo(&["plan"]);
    ok(&create);
    golden("plan_create.txt", &stdout(&create));
    let json = p.demo(&["plan", "--json"]);
    ok(&json);
    golden("plan_create.json", &stable(&stdout(&json), None));

    ok(&p.demo(&["apply", "--yes"]));
    let state: serde_json::Value = serde_json::from_str(&stdout(&p.demo(&["state", "pull"]))).unwrap();
    p.set("DEMO_DB_SIZE", "2").set("DEMO_SUBNETS", "1");
    let update = p.demo(&["plan"]);
    ok(&update);
    golden("plan_update.txt", &stable(&stdout(&update), Some(&state)));
    let json = p.demo(&["plan", "--json"]);
    golden("plan_update.json", &stable(&stdout(&json), Some(&state)));
}
