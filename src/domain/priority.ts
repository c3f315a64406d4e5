// A run's priority as Temporal's task priority: 1 is most urgent, 5 least, 3 the default
// (Temporal's default range, where a lower key is served first). The run's workflow, its
// chunk workflows and every activity they schedule carry it, and so does each call the
// rate limiter admits.

export const PRIORITY_MIN = 1;
export const PRIORITY_MAX = 5;
export const DEFAULT_PRIORITY = 3;

export const isPriority = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= PRIORITY_MIN && (n as number) <= PRIORITY_MAX;

/** The run's priority key: its configured one, or the default. */
export const priorityOf = (config: { priority?: number }): number => config.priority ?? DEFAULT_PRIORITY;

/** As Temporal takes it on workflow, child workflow and activity options. */
export const taskPriority = (config: { priority?: number }): { priorityKey: number } => ({ priorityKey: priorityOf(config) });
