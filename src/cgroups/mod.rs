//! cgroup v1 and v2 (placeholder: filled in by the cgroups work).
