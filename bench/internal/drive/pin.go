package drive

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// A pinned throughput run puts the server and the load client on one core,
// the client 19 nice levels below the server (a weight about 70 times
// smaller). The server then runs whenever it has work; the client runs in
// the gaps, when the server waits on a full socket buffer, and drains many
// events per read. So the server almost never has to wake a client that is
// waiting for its next event, a cost that depends on timing alone (on
// separate cores a fast client waits after every read and each write pays
// for an inter-processor wake-up), and its CPU per event is its own work:
// the handler, the library, net/http and the kernel's write path. Every
// contestant gets the same core, the same client and the same priorities.
//
// The two sit at nice -19 and 0 rather than 0 and 19 because the machine is
// shared: other work runs at nice 0, and against a server at nice 0 it
// takes its share of the core, interrupting the server, evicting its caches
// and starving a client at nice 19, so that rounds a build happened to
// overlap came out far off. A server at -19 leaves so little of the core to
// anything else that the scheduler moves other work to the other cores.
//
// The server is started under nice and taskset; the driver, which is the
// load client, sets the affinity and priority of each of its threads (a new
// thread inherits its creator's).

// pinnedCPU is the core of a pinned run; serverNice and clientNice are the
// server's and the client's priorities there.
const (
	pinnedCPU  = 0
	serverNice = -19
	clientNice = 0
)

// setAffinity restricts every thread of this process to the cores in mask
// (bit i is core i). Two passes catch a thread started during the first.
func setAffinity(mask uint64) error {
	for range 2 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, uintptr(tid),
				unsafe.Sizeof(mask), uintptr(unsafe.Pointer(&mask)))
			if e != 0 && e != syscall.ESRCH { // a thread that exited meanwhile
				return fmt.Errorf("sched_setaffinity: %w", e)
			}
		}
	}
	return nil
}

// allCPUs is the mask of every core this process may use at start.
func allCPUs() uint64 {
	var mask uint64
	_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0, unsafe.Sizeof(mask), uintptr(unsafe.Pointer(&mask)))
	if e != 0 || mask == 0 {
		return ^uint64(0)
	}
	return mask
}

// setNice sets the nice value of every thread of this process. Lowering it
// back to 0 needs CAP_SYS_NICE (root has it).
func setNice(nice int) error {
	for range 2 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, nice); err != nil && err != syscall.ESRCH {
				return fmt.Errorf("setpriority: %w", err)
			}
		}
	}
	return nil
}
