//! Files written so that a reader never sees half of one.
//!
//! Invariant of a run directory (see [`crate::results`]): every file appears
//! under its final name only complete. Whole files go through
//! [`write_atomic`] (a temp file in the same directory, fsync, rename);
//! streamed files (the per-point `.jsonl`) through [`AtomicFile`], which
//! writes `.<name>.<pid>.tmp` and renames on [`AtomicFile::commit`], or
//! deletes it when dropped uncommitted (Ctrl-C in the middle of a point). A
//! temp file starts with a dot so readers that list `*.jsonl` skip it.
//!
//! The runner and the report both write run directories, so both use this.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// An io::Error that names the file and what was being done to it.
fn at(what: &str, path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_path(path);
    let write = || -> io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(at("cannot write", &tmp, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| at("cannot rename into", path, e))
}

/// A file streamed under a temp name and renamed when complete.
pub struct AtomicFile {
    tmp: PathBuf,
    path: PathBuf,
    out: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub fn create(path: &Path) -> io::Result<AtomicFile> {
        let tmp = temp_path(path);
        let f = File::create(&tmp).map_err(|e| at("cannot create", &tmp, e))?;
        Ok(AtomicFile {
            tmp,
            path: path.to_path_buf(),
            out: Some(BufWriter::new(f)),
        })
    }

    /// Appends `line` and a newline.
    pub fn write_line(&mut self, line: &str) -> io::Result<()> {
        let out = self.out.as_mut().expect("write after commit");
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")
    }

    /// Flushes, syncs and renames to the final name.
    pub fn commit(mut self) -> io::Result<()> {
        let out = self.out.take().expect("committed once");
        let f = out.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| at("cannot rename into", &self.path, e))
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_file_appears_only_on_commit() {
        let dir = std::env::temp_dir().join(format!("schedlab-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.jsonl");
        let mut f = AtomicFile::create(&p).unwrap();
        f.write_line("{}").unwrap();
        assert!(!p.exists());
        f.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "{}\n");
        let q = dir.join("b.jsonl");
        let mut g = AtomicFile::create(&q).unwrap();
        g.write_line("{}").unwrap();
        drop(g);
        assert!(!q.exists());
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "the dropped temp file is removed"
        );
        write_atomic(&dir.join("c.json"), b"x").unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("c.json")).unwrap(), "x");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
