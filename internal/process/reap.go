package process

import (
	"errors"
	"syscall"
	"time"
)

// prSetChildSubreaper is PR_SET_CHILD_SUBREAPER from <linux/prctl.h>.
const prSetChildSubreaper = 36

// BecomeSubreaper makes this process adopt the orphaned descendants of the
// commands it starts, instead of init. Without it, the children of a room's
// shell script would be reparented to a PID 1 that may never reap them, and
// stay as zombies after the room ends.
func BecomeSubreaper() error {
	_, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// reapGroup reaps the adopted members of process group pgid, which have
// been sent SIGKILL, for at most limit. Waiting by group never touches the
// processes of other rooms, each of which has a group of its own.
func reapGroup(pgid int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	pause := time.Millisecond
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-pgid, &ws, syscall.WNOHANG, nil)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil: // ECHILD: no member of the group is our child
			return
		case pid > 0:
			continue
		}
		if time.Now().After(deadline) {
			return
		}
		// Members were just sent SIGKILL; they go away within moments.
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}
