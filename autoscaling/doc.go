// Package autoscaling is Application Auto Scaling for ECS services: the
// rules of its requests (resource ids, capacities, policy configurations)
// and its decisions (pure): target tracking with the datapoints rule of
// target tracking's alarms, cooldowns, the min/max clamp, DisableScaleIn;
// step scaling's adjustments. Its operations and the loop that evaluates
// policies are in autoscaling/aasapi.
package autoscaling
