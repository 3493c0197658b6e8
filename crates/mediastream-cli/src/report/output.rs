//! Output files are checked before any traffic: a run whose results
//! cannot be written is refused at once (exit 2) instead of being found
//! out after the run, with the results lost.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

use crate::cmd::CliError;

/// How a command writes a file at the end.
#[derive(Debug)]
pub enum Write {
    /// Whole, to this partial file next to it, then renamed over it (so
    /// a reader never sees half a file): the directory must let us
    /// create the partial file, and the target must not be a directory.
    Replace(PathBuf),
    /// Opened and written in place (truncated).
    InPlace,
}

/// Checks that `target` (the value of `option`; `-` is stdout) can be
/// written the way `how` says, by creating what will be created. An
/// error names the option and the file, as a usage error.
pub fn check(option: &str, target: &str, how: Write) -> Result<(), CliError> {
    if target == "-" {
        return Ok(());
    }
    let fail = |why: String| {
        CliError::Usage(format!(
            "{option} {}: cannot be written ({why})",
            super::escape(target)
        ))
    };
    if target.is_empty() {
        return Err(fail("an empty file name".into()));
    }
    let path = Path::new(target);
    if path.is_dir() {
        return Err(fail("it is a directory: name a file".into()));
    }
    let probe = match how {
        Write::Replace(partial) => {
            if partial.is_dir() {
                return Err(fail(format!("{} is a directory", partial.display())));
            }
            // Created new and removed again: an existing partial file (a
            // run that died) is only opened, never deleted.
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&partial)
            {
                Ok(_) => {
                    let _ = std::fs::remove_file(&partial);
                    Ok(())
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    OpenOptions::new().write(true).open(&partial).map(drop)
                }
                Err(e) => Err(e),
            }
        }
        // Not truncated now: a run refused later leaves an existing file
        // as it was (a new one stays, empty).
        Write::InPlace => OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map(drop),
    };
    probe.map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ms-output-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_directory_or_a_missing_directory_is_refused_and_a_file_is_not_created() {
        let d = dir("a");
        let target = d.to_str().unwrap();
        let e = check(
            "--json",
            target,
            Write::Replace(d.with_extension("json.partial")),
        );
        assert!(
            matches!(&e, Err(CliError::Usage(m)) if m.contains("--json") && m.contains("directory")),
            "{e:?}"
        );
        let missing = d.join("no/such/dir/out.json");
        let e = check(
            "--histogram-file",
            missing.to_str().unwrap(),
            Write::InPlace,
        );
        assert!(
            matches!(&e, Err(CliError::Usage(m)) if m.contains("--histogram-file")),
            "{e:?}"
        );
        let fine = d.join("out.json");
        let partial = fine.with_extension("json.partial");
        check(
            "--json",
            fine.to_str().unwrap(),
            Write::Replace(partial.clone()),
        )
        .unwrap();
        assert!(
            !fine.exists() && !partial.exists(),
            "the check leaves nothing behind"
        );
        assert!(check("--json", "-", Write::InPlace).is_ok());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
