//! Keeps the desk's threads on one CPU.
//!
//! Why: sqlx runs each SQLite connection on a worker thread of its own, and
//! every statement is a hand-off between the runtime thread and that worker
//! and back. When the two sit on different CPUs each hand-off is a wake-up
//! across CPUs, which on a virtual machine costs an interrupt to the other
//! CPU and an exit to the hypervisor. Measured on the 2-CPU KVM guest of
//! BENCHMARKS.md: `SELECT 1` through sqlx took 70–100 µs of wall time
//! (67 µs of CPU) per statement across CPUs, 5 µs on one CPU. The desk's
//! work is sequential (one runtime thread), so one CPU is all it uses.

/// Restricts the calling thread, and every thread it starts afterwards, to
/// the CPU it is running on now (if that CPU is one it may use; else the
/// first it may use). Returns the CPU, or `None` where this is not done
/// (not Linux, or the kernel refused: the desk then runs unpinned).
#[cfg(target_os = "linux")]
pub fn keep_to_one_cpu() -> Option<usize> {
    // SAFETY: `cpu_set_t` is plain data for which all zero bytes is the
    // empty set; the libc calls get a valid pointer and its exact size, and
    // CPU_ISSET/CPU_SET are only given indices below CPU_SETSIZE.
    unsafe {
        let size = std::mem::size_of::<libc::cpu_set_t>();
        let mut allowed: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, size, &mut allowed) != 0 {
            return None;
        }
        let limit = libc::CPU_SETSIZE as usize;
        let current = usize::try_from(libc::sched_getcpu()).ok();
        let cpu = current
            .filter(|&c| c < limit && libc::CPU_ISSET(c, &allowed))
            .or_else(|| (0..limit).find(|&c| libc::CPU_ISSET(c, &allowed)))?;
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut one);
        (libc::sched_setaffinity(0, size, &one) == 0).then_some(cpu)
    }
}

#[cfg(not(target_os = "linux"))]
pub fn keep_to_one_cpu() -> Option<usize> {
    None
}

/// Restricts the calling thread (and those it starts) to one CPU other
/// than `busy`, when it may use another: the staff page's thread beside a
/// desk kept to `busy`, so pages do not take the desk's CPU. Returns the
/// CPU, or `None` when there is no other (it then stays where it is).
#[cfg(target_os = "linux")]
pub fn keep_off_cpu(busy: usize) -> Option<usize> {
    // SAFETY: as in `keep_to_one_cpu`. The thread may have inherited the
    // desk's one CPU; the kernel accepts any CPU the process's cgroup
    // allows, and refuses (we return None) one it does not.
    unsafe {
        let size = std::mem::size_of::<libc::cpu_set_t>();
        let online = usize::try_from(libc::sysconf(libc::_SC_NPROCESSORS_ONLN)).unwrap_or(1);
        let limit = (libc::CPU_SETSIZE as usize).min(online.max(1));
        for cpu in (0..limit).filter(|&c| c != busy) {
            let mut one: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut one);
            if libc::sched_setaffinity(0, size, &one) == 0 {
                return Some(cpu);
            }
        }
        None
    }
}

#[cfg(not(target_os = "linux"))]
pub fn keep_off_cpu(_busy: usize) -> Option<usize> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn a_thread_started_after_pinning_stays_on_the_same_cpu() {
        // On a thread of its own: the test harness's other threads keep
        // their affinity.
        std::thread::spawn(|| {
            let Some(cpu) = super::keep_to_one_cpu() else {
                return;
            };
            let child = std::thread::spawn(|| {
                // SAFETY: as above; a zeroed set filled in by the kernel.
                unsafe {
                    let mut set: libc::cpu_set_t = std::mem::zeroed();
                    let size = std::mem::size_of::<libc::cpu_set_t>();
                    assert_eq!(libc::sched_getaffinity(0, size, &mut set), 0);
                    (0..libc::CPU_SETSIZE as usize)
                        .filter(|&c| libc::CPU_ISSET(c, &set))
                        .collect::<Vec<_>>()
                }
            });
            assert_eq!(child.join().expect("child thread"), vec![cpu]);
        })
        .join()
        .expect("pinned thread");
    }
}
