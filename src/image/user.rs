//! `Config.User` -> `process.user`, per image-spec `conversion.md`: numeric
//! ids are copied, names are looked up in the image's own `/etc/passwd` and
//! `/etc/group` (an error when missing), and a named user without an explicit
//! group gets the groups `/etc/group` lists it in as additional gids.

use super::{Error, Result};

/// One `/etc/passwd` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

/// One `/etc/group` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// The resolved user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Option<Vec<u32>>,
    pub home: Option<String>,
}

/// Parse passwd content; malformed lines are skipped (as libc does).
pub fn parse_passwd(s: &str) -> Vec<PasswdEntry> {
    s.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 4 || l.starts_with('#') {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].into(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f.get(5).unwrap_or(&"").to_string(),
            })
        })
        .collect()
}

/// Parse group content.
pub fn parse_group(s: &str) -> Vec<GroupEntry> {
    s.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 3 || l.starts_with('#') {
                return None;
            }
            let members = f
                .get(3)
                .map(|m| m.split(',').filter(|x| !x.is_empty()).map(str::to_string).collect())
                .unwrap_or_default();
            Some(GroupEntry { name: f[0].into(), gid: f[2].parse().ok()?, members })
        })
        .collect()
}

/// Resolve `spec` (`user`, `uid`, `user:group`, `uid:gid`, ...) against the
/// image's passwd and group contents (None when the file is absent).
pub fn resolve(spec: &str, passwd: Option<&str>, group: Option<&str>) -> Result<ResolvedUser> {
    let pw = passwd.map(parse_passwd).unwrap_or_default();
    let gr = group.map(parse_group).unwrap_or_default();
    let (user, grp) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let mut out = ResolvedUser::default();
    let entry = if user.is_empty() {
        pw.iter().find(|e| e.uid == 0)
    } else if let Ok(uid) = user.parse::<u32>() {
        out.uid = uid;
        pw.iter().find(|e| e.uid == uid)
    } else {
        let e = pw.iter().find(|e| e.name == user).ok_or_else(|| Error::UserNotFound(user.to_string()))?;
        out.uid = e.uid;
        Some(e)
    };
    if let Some(e) = entry {
        out.gid = e.gid;
        out.home = Some(e.home.clone()).filter(|h| !h.is_empty());
    }
    match grp {
        Some(g) if !g.is_empty() => {
            out.gid = match g.parse::<u32>() {
                Ok(gid) => gid,
                Err(_) => gr.iter().find(|e| e.name == g).ok_or_else(|| Error::GroupNotFound(g.to_string()))?.gid,
            };
        }
        _ => {
            // Only a user given by name gets its supplementary groups.
            if !user.is_empty() && user.parse::<u32>().is_err() {
                let extra: Vec<u32> = gr
                    .iter()
                    .filter(|e| e.members.iter().any(|m| m == user) && e.gid != out.gid)
                    .map(|e| e.gid)
                    .collect();
                if !extra.is_empty() {
                    out.additional_gids = Some(extra);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PW: &str = "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/false\nbroken line\n";
    const GR: &str = "root:x:0:\nwww:x:33:\nstaff:x:50:www,other\naudio:x:29:www\n";

    #[test]
    fn names_and_numbers() {
        let r = resolve("www", Some(PW), Some(GR)).unwrap();
        assert_eq!((r.uid, r.gid, r.additional_gids.clone()), (33, 33, Some(vec![50, 29])));
        assert_eq!(r.home.as_deref(), Some("/var/www"));
        let r = resolve("33:50", Some(PW), Some(GR)).unwrap();
        assert_eq!((r.uid, r.gid, r.additional_gids), (33, 50, None));
        let r = resolve("1000", Some(PW), Some(GR)).unwrap();
        assert_eq!((r.uid, r.gid), (1000, 0));
        let r = resolve("www:audio", Some(PW), Some(GR)).unwrap();
        assert_eq!((r.gid, r.additional_gids), (29, None));
        assert_eq!(resolve("", Some(PW), None).unwrap().uid, 0);
    }

    #[test]
    fn unknown_names_are_errors() {
        assert!(matches!(resolve("nobody", Some(PW), Some(GR)), Err(Error::UserNotFound(_))));
        assert!(matches!(resolve("www:wheel", Some(PW), Some(GR)), Err(Error::GroupNotFound(_))));
        assert!(matches!(resolve("www", None, None), Err(Error::UserNotFound(_))));
    }
}
