package lambda

import (
	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// Concurrency limits of an account, as Lambda's: 1,000 concurrent
// executions by default, of which at least 100 stay unreserved.
const (
	DefaultAccountConcurrency = 1000
	MinUnreserved             = 100
)

// Reserved is the sum of the functions' reserved concurrency, leaving out
// the function named except.
func Reserved(functions []*berthv1.LambdaFunctionRecord, except string) int32 {
	var sum int32
	for _, f := range functions {
		if f.GetName() != except && f.ReservedConcurrency != nil {
			sum += f.GetReservedConcurrency()
		}
	}
	return sum
}

// CheckReserve checks PutFunctionConcurrency: the value is >= 0 and leaves
// the account's unreserved pool at its minimum or more.
func CheckReserve(limit int32, functions []*berthv1.LambdaFunctionRecord, name string, value *int32) error {
	if value == nil {
		return Invalid("ReservedConcurrentExecutions", "null", "Member must not be null")
	}
	if err := checkRange("ReservedConcurrentExecutions", int64(*value), 0, 1<<31-1); err != nil {
		return err
	}
	if limit-Reserved(functions, name)-*value < MinUnreserved {
		return InvalidParameter("ReservedConcurrentExecutions", "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", MinUnreserved)
	}
	return nil
}

// Unreserved is the account's pool left to the functions without reserved
// concurrency.
func Unreserved(limit int32, functions []*berthv1.LambdaFunctionRecord) int32 {
	return limit - Reserved(functions, "")
}
