//! `runsc features`: what this runtime supports, in the JSON shape of runc's
//! `features` (runtime-spec features.md), for clients that probe it.

use crate::cli::GlobalOpts;
use crate::hooks::KINDS;

pub fn main(_global: &GlobalOpts) -> anyhow::Result<i32> {
    println!("{}", serde_json::to_string_pretty(&features())?);
    Ok(0)
}

fn features() -> serde_json::Value {
    serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": oci_spec::runtime::version(),
        "hooks": KINDS,
        "mountOptions": ["ro", "rw", "bind", "rbind", "nosuid", "nodev", "noexec"],
        "linux": {
            "namespaces": ["pid", "network", "ipc", "uts", "mount"],
            "cgroup": { "v1": true, "v2": true, "systemd": false, "systemdUser": false },
            "seccomp": { "enabled": false },
            "apparmor": { "enabled": false },
            "selinux": { "enabled": false }
        },
        "annotations": {
            "io.github.runsc-rs.sandbox": "ptrace or systrap Sentry; every container runs on a userspace kernel"
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn lists_every_hook_kind() {
        let v = super::features();
        assert_eq!(v["hooks"].as_array().unwrap().len(), 6);
        assert_eq!(v["linux"]["cgroup"]["v1"], true);
        assert_eq!(v["ociVersionMin"], "1.0.0");
    }
}
