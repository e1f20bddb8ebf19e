// Package throttle limits the rate of API calls as ECS does: token buckets
// (golang.org/x/time/rate) per category of operations, with the burst and
// sustained rates ECS documents ("Request throttling for the Amazon ECS
// API"), and AWS Fargate's own buckets for RunTask calls and task launches
// ("AWS Fargate throttling quotas"). berth has one account, so there is one
// bucket per category.
//
// The package decides only; the control plane's interceptor asks it for
// every call and answers a refusal with ThrottlingException. It owns no
// goroutines: buckets refill by the clock as they are read.
package throttle

import (
	"sort"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Category is a group of operations that share one bucket: Burst tokens at
// most, refilled at Rate tokens per second.
type Category struct {
	Name       string
	Operations []string
	Burst      int
	Rate       float64
}

// ECS is ECS's documented table of categories.
var ECS = []Category{
	{"Cluster modify actions", []string{"CreateCluster", "DeleteCluster", "PutClusterCapacityProviders", "UpdateCluster", "UpdateClusterSettings"}, 20, 1},
	{"Cluster read actions", []string{"DescribeClusters", "ListClusters"}, 50, 20},
	{"Task definition modify actions", []string{"DeregisterTaskDefinition", "RegisterTaskDefinition"}, 20, 1},
	{"Task definition read actions", []string{"DescribeTaskDefinition", "ListTaskDefinitions", "ListTaskDefinitionFamilies"}, 50, 20},
	{"Task definition deletion actions", []string{"DeleteTaskDefinitions"}, 5, 1},
	{"Capacity provider modify actions", []string{"CreateCapacityProvider", "DeleteCapacityProvider", "UpdateCapacityProvider"}, 10, 1},
	{"Capacity provider read actions", []string{"DescribeCapacityProviders"}, 50, 20},
	{"Tag modify actions", []string{"TagResource", "UntagResource"}, 20, 10},
	{"Tag read actions", []string{"ListTagsForResource"}, 50, 20},
	{"Setting modify actions", []string{"DeleteAccountSetting", "PutAccountSetting", "PutAccountSettingDefault"}, 10, 1},
	{"Setting read actions", []string{"ListAccountSettings"}, 50, 20},
	{"Cluster resource modify actions", []string{"DeleteAttributes", "DeregisterContainerInstance", "ExecuteCommand", "PutAttributes", "RunTask", "StartTask", "StopTask", "UpdateContainerAgent", "UpdateContainerInstancesState"}, 100, 40},
	{"Cluster resource read actions", []string{"DescribeContainerInstances", "DescribeTasks", "ListAttributes", "ListContainerInstances", "ListTasks"}, 100, 20},
	{"Agent modify actions", []string{"RegisterContainerInstance", "SubmitAttachmentStateChanges", "SubmitContainerStateChange", "SubmitTaskStateChange"}, 200, 120},
	{"Service modify actions", []string{"CreateService", "DeleteService", "UpdateService"}, 50, 5},
	{"Service read actions", []string{"DescribeServices", "ListServices"}, 100, 20},
	{"Service deployment actions", []string{"DescribeServiceDeployments", "ListServiceDeployments"}, 50, 20},
	{"Service revision actions", []string{"DescribeServiceRevisions"}, 50, 20},
	{"Task protection actions", []string{"UpdateTaskProtection", "GetTaskProtection"}, 200, 80},
	{"Cluster service resource read actions", []string{"ListServicesByNamespace"}, 10, 1},
}

// Fargate's buckets: RunTask calls that launch Fargate tasks (20 calls a
// second, burst and sustained), and the tasks they launch (100 at once, 20 a
// second), On-Demand and Spot apart.
var (
	FargateRunTask      = Category{Name: "Fargate RunTask", Burst: 20, Rate: 20}
	FargateTasks        = Category{Name: "Fargate On-Demand task launches", Burst: 100, Rate: 20}
	FargateSpotTasks    = Category{Name: "Fargate Spot task launches", Burst: 100, Rate: 20}
	fargateCategoryName = map[bool]string{false: FargateTasks.Name, true: FargateSpotTasks.Name}
)

// Call is one call to decide on: its operation, and for a RunTask that
// launches Fargate tasks, how many On-Demand and Spot tasks it launches.
type Call struct {
	Operation        string
	FargateTasks     int
	FargateSpotTasks int
}

// Limiter holds the buckets. It is safe for concurrent use.
type Limiter struct {
	byOperation map[string]*rate.Limiter
	named       map[string]*rate.Limiter
	mu          sync.Mutex // makes a call's reservations over several buckets one step
}

// New returns a Limiter with the categories' buckets and Fargate's, all full.
func New(categories []Category) *Limiter {
	l := &Limiter{byOperation: map[string]*rate.Limiter{}, named: map[string]*rate.Limiter{}}
	for _, c := range append(append([]Category(nil), categories...), FargateRunTask, FargateTasks, FargateSpotTasks) {
		b := rate.NewLimiter(rate.Limit(c.Rate), c.Burst)
		l.named[c.Name] = b
		for _, op := range c.Operations {
			l.byOperation[op] = b
		}
	}
	return l
}

// Allow takes the call's tokens at now, from every bucket it draws on, or
// none: ok false says the call is over a limit, and retryAfter when the
// tokens it lacks will be there (0 when it can never pass: more tasks than
// a bucket holds).
func (l *Limiter) Allow(now time.Time, c Call) (ok bool, retryAfter time.Duration) {
	type draw struct {
		b *rate.Limiter
		n int
	}
	var draws []draw
	if b := l.byOperation[c.Operation]; b != nil {
		draws = append(draws, draw{b, 1})
	}
	if c.FargateTasks+c.FargateSpotTasks > 0 {
		draws = append(draws, draw{l.named[FargateRunTask.Name], 1})
		for spot, n := range map[bool]int{false: c.FargateTasks, true: c.FargateSpotTasks} {
			if n > 0 {
				draws = append(draws, draw{l.named[fargateCategoryName[spot]], n})
			}
		}
	}
	if len(draws) == 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var taken []*rate.Reservation
	cancel := func() {
		for _, r := range taken {
			r.CancelAt(now)
		}
	}
	for _, d := range draws {
		r := d.b.ReserveN(now, d.n)
		if !r.OK() {
			cancel()
			return false, 0
		}
		taken = append(taken, r)
		if delay := r.DelayFrom(now); delay > 0 {
			retryAfter = max(retryAfter, delay)
		}
	}
	if retryAfter > 0 {
		cancel()
		return false, retryAfter
	}
	return true, 0
}

// Operations lists every operation the limiter throttles, sorted.
func (l *Limiter) Operations() []string {
	ops := make([]string, 0, len(l.byOperation))
	for op := range l.byOperation {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops
}
