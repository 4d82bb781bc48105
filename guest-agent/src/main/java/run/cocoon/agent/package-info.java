/** The agent that runs inside the guest as PID 1 and creates containers on request. */
package run.cocoon.agent;
