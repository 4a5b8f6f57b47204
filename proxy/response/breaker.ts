// First response filter: the upstream's status is the circuit breaker's verdict (a 5xx counts against it).
import type { CircuitBreaker } from '../upstream/circuit.js';
import type { ResponseFilter } from './filter.js';

export function createBreakerVerdict(breaker: CircuitBreaker): ResponseFilter {
  return {
    name: 'breaker verdict',
    onHead(x) {
      if (x.status >= 500) breaker.failure();
      else breaker.success();
      return undefined;
    },
  };
}
