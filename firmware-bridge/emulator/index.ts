/** Public API of the device emulator: a protocol-v1 device behind a real pseudo-terminal. */
export { DeviceEmulator } from "./emulator.js";
export type {
  BootReason,
  CommandEvent,
  EmulatorEvents,
  EmulatorStartOptions,
  EmulatorStatus,
  FaultKind,
  FaultStats,
  SentLine,
} from "./events.js";
export {
  envnodeProfile,
  type ActuatorSpec,
  type EmulatorConfig,
  type SensorSpec,
} from "./profile.js";
export {
  createVirtualCable,
  VirtualCable,
  type CableEvents,
  type SocatExit,
  type VirtualCableOptions,
} from "./pty.js";
export {
  checkWave,
  createSampler,
  deriveRng,
  gaussian,
  mulberry32,
  type Rng,
  type Sampler,
  type WaveSpec,
} from "./waveforms.js";
export {
  FAULT_HELP,
  FaultSpecError,
  parseFault,
  scheduleFaults,
  type FaultPlan,
} from "./fault-plan.js";
export { linkBudget, type LinkBudget } from "./line-budget.js";
export { runEmulate, type EmulateIo } from "./cli.js";
