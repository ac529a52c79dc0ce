//! Moving a stack's state from one backend to another (local to S3 and
//! back), keeping its lineage and serial.

use std::time::Duration;

use crate::Error;
use crate::backend::{Backend, Lock, StateVersion};

/// What [`migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Migrated {
    /// The state was copied; the version now stored in the destination.
    Copied(StateVersion),
    /// The destination already held exactly this state (an earlier
    /// migration finished); nothing was written.
    AlreadyThere(StateVersion),
}

/// Copies the state of `stack` from `from` to `to`, unchanged: same
/// lineage, same serial, same resources, same secret key.
///
/// Both stacks are locked for the copy (waiting up to `lock_timeout` for
/// each), so no apply can change the source half-way. The source is left
/// as it was: it becomes a backup, and the user decides when to delete it.
///
/// Refused with [`Error::Migration`] when the source has no state, or the
/// destination already holds a *different* state for the stack (another
/// lineage, or the same lineage at another version): copying over it
/// would lose one of them. Running it again after it succeeded is a no-op.
pub async fn migrate(
    from: &dyn Backend,
    to: &dyn Backend,
    stack: &str,
    lock_timeout: Duration,
) -> Result<Migrated, Error> {
    let source_lock = from.lock(stack, "migrate", lock_timeout).await?;
    let dest_lock = match to.lock(stack, "migrate", lock_timeout).await {
        Ok(l) => l,
        Err(e) => return release_and(vec![source_lock], Err(e)).await,
    };
    let result = copy(from, to, &*dest_lock, stack).await;
    release_and(vec![dest_lock, source_lock], result).await
}

async fn copy(
    from: &dyn Backend,
    to: &dyn Backend,
    dest_lock: &dyn Lock,
    stack: &str,
) -> Result<Migrated, Error> {
    let refuse = |reason: String| Error::Migration { stack: stack.to_owned(), reason };
    let Some((state, _)) = from.read(stack).await? else {
        return Err(refuse(format!("{} holds no state for it", from.describe())));
    };
    if let Some((existing, version)) = to.read(stack).await? {
        if existing == state {
            return Ok(Migrated::AlreadyThere(version));
        }
        return Err(refuse(format!(
            "{} already holds a different state for it (lineage {}, serial {}; the source has lineage {}, \
             serial {}); remove one of them first",
            to.describe(),
            existing.lineage,
            existing.serial,
            state.lineage,
            state.serial
        )));
    }
    to.write(dest_lock, &state, None).await.map(Migrated::Copied)
}

async fn release_and<T>(locks: Vec<Box<dyn Lock>>, result: Result<T, Error>) -> Result<T, Error> {
    let mut release_error = None;
    for lock in locks {
        if let Err(e) = lock.release().await {
            release_error.get_or_insert(e);
        }
    }
    match (result, release_error) {
        (Err(e), _) => Err(e),
        (Ok(_), Some(e)) => Err(e),
        (Ok(v), None) => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::conformance::sample_state;
    use crate::{LocalBackend, MemoryBackend, new_state};

    #[tokio::test]
    async fn local_to_memory_and_back_keeps_lineage_and_serial() {
        let dir = tempfile::tempdir().unwrap();
        let local = LocalBackend::new(dir.path());
        let memory = MemoryBackend::new();
        let state = sample_state(&new_state().unwrap(), 7, "x");
        let l = local.lock("prod", "apply", Duration::ZERO).await.unwrap();
        local.write(&*l, &state, None).await.unwrap();
        l.release().await.unwrap();

        let copied = migrate(&local, &memory, "prod", Duration::ZERO).await.unwrap();
        assert!(matches!(copied, Migrated::Copied(ref v) if v.serial == 7), "{copied:?}");
        assert_eq!(memory.read("prod").await.unwrap().unwrap().0, state);
        // Again: nothing to do.
        let again = migrate(&local, &memory, "prod", Duration::ZERO).await.unwrap();
        assert!(matches!(again, Migrated::AlreadyThere(_)), "{again:?}");

        // Back into an empty local directory.
        let dir2 = tempfile::tempdir().unwrap();
        let local2 = LocalBackend::new(dir2.path());
        migrate(&memory, &local2, "prod", Duration::ZERO).await.unwrap();
        assert_eq!(local2.read("prod").await.unwrap().unwrap().0, state);
        // Both stacks were unlocked again.
        local2.lock("prod", "apply", Duration::ZERO).await.unwrap().release().await.unwrap();
        memory.lock("prod", "apply", Duration::ZERO).await.unwrap().release().await.unwrap();
    }

    #[tokio::test]
    async fn a_different_state_at_the_destination_is_never_overwritten() {
        let a = MemoryBackend::new();
        let b = MemoryBackend::new();
        for (backend, marker) in [(&a, "a"), (&b, "b")] {
            let l = backend.lock("prod", "apply", Duration::ZERO).await.unwrap();
            backend.write(&*l, &sample_state(&new_state().unwrap(), 3, marker), None).await.unwrap();
            l.release().await.unwrap();
        }
        let before = b.read("prod").await.unwrap().unwrap();
        let err = migrate(&a, &b, "prod", Duration::ZERO).await.unwrap_err();
        assert!(matches!(err, Error::Migration { .. }), "{err}");
        assert!(err.to_string().contains("different state"), "{err}");
        assert_eq!(b.read("prod").await.unwrap().unwrap(), before);

        let empty = MemoryBackend::new();
        let err = migrate(&empty, &b, "prod", Duration::ZERO).await.unwrap_err();
        assert!(err.to_string().contains("holds no state"), "{err}");
    }
}
