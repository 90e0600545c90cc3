/**
 * Threshold alerts: a rule fires once when its condition has held for forSeconds, and recovers
 * once when it stops holding, so a value hovering at the threshold produces one message per
 * crossing instead of one per reading.
 *
 * Time is the agent's receivedAt clock, not the device's: device uptime restarts with every boot.
 * "Held continuously" means every reading of the sensor in that span met the condition; a gap
 * between readings does not break the span, since nothing in it said otherwise.
 * One engine watches one device: state is kept per rule, not per (device, rule).
 */
import type { Reading } from "./reading.js";

export interface AlertRule {
  name: string;
  sensor: string;
  /** Holds while value > above. */
  above?: number;
  /** Holds while value < below. With both bounds the rule holds outside [below, above]. */
  below?: number;
  forSeconds: number;
}

export interface AlertEvent {
  type: "alert" | "recovered";
  rule: string;
  device: string;
  sensor: string;
  value: number;
  unit?: string;
  /** receivedAt of the reading that caused the event. */
  at: number;
  text: string;
}

interface RuleState {
  /** receivedAt of the first reading of the current run in which the condition held. */
  since: number | undefined;
  fired: boolean;
}

export class AlertEngine {
  private readonly rules: ReadonlyArray<AlertRule>;
  private readonly states = new Map<string, RuleState>();

  /** Throws on a rule that could never or would always fire, or a name used twice. */
  constructor(rules: ReadonlyArray<AlertRule>) {
    for (const rule of rules) checkRule(rule);
    const names = new Set<string>();
    for (const { name } of rules) {
      if (names.has(name)) throw new Error(`alert rule "${name}" is defined twice`);
      names.add(name);
    }
    this.rules = rules.map((r) => ({ ...r }));
    for (const r of this.rules) this.states.set(r.name, { since: undefined, fired: false });
  }

  /** Feed one reading; returns the events it caused, in rule order. */
  observe(reading: Reading): AlertEvent[] {
    const events: AlertEvent[] = [];
    for (const rule of this.rules) {
      const event = this.step(rule, reading);
      if (event) events.push(event);
    }
    return events;
  }

  /** Names of the rules that have fired and not yet recovered. */
  firing(): string[] {
    return this.rules.filter((r) => this.states.get(r.name)?.fired).map((r) => r.name);
  }

  private step(rule: AlertRule, reading: Reading): AlertEvent | undefined {
    const sample = reading.values.find((v) => v.sensor === rule.sensor);
    // Non-numeric values cannot be compared; like a missing sensor, they leave the state alone.
    if (sample === undefined || typeof sample.value !== "number" || Number.isNaN(sample.value)) {
      return undefined;
    }
    const state = this.states.get(rule.name) ?? { since: undefined, fired: false };
    this.states.set(rule.name, state);
    const value = sample.value;
    const at = reading.receivedAt;
    const base = { rule: rule.name, device: reading.device, sensor: rule.sensor, value, at };
    const event = { ...base, ...(sample.unit !== undefined && { unit: sample.unit }) };
    if (!holds(rule, value)) {
      const wasFiring = state.fired;
      state.since = undefined;
      state.fired = false;
      return wasFiring
        ? { ...event, type: "recovered", text: recoveredText(rule, event) }
        : undefined;
    }
    state.since ??= at;
    if (state.fired || at - state.since < rule.forSeconds * 1000) return undefined;
    state.fired = true;
    return { ...event, type: "alert", text: alertText(rule, event) };
  }
}

function checkRule(rule: AlertRule): void {
  const { name, above, below, forSeconds } = rule;
  if (above === undefined && below === undefined) {
    throw new Error(`alert rule "${name}": needs "above", "below" or both`);
  }
  if ([above, below].some((x) => x !== undefined && !Number.isFinite(x))) {
    throw new Error(`alert rule "${name}": thresholds must be finite numbers`);
  }
  if (above !== undefined && below !== undefined && below > above) {
    throw new Error(
      `alert rule "${name}": below (${below}) is greater than above (${above}), so it would always hold`,
    );
  }
  if (!Number.isFinite(forSeconds) || forSeconds < 0) {
    throw new Error(`alert rule "${name}": forSeconds must be 0 or more, got ${forSeconds}`);
  }
}

function holds(rule: AlertRule, value: number): boolean {
  return (
    (rule.above !== undefined && value > rule.above) ||
    (rule.below !== undefined && value < rule.below)
  );
}

type EventFacts = Pick<AlertEvent, "sensor" | "value" | "unit">;

function alertText(rule: AlertRule, e: EventFacts): string {
  const side =
    rule.above !== undefined && e.value > rule.above
      ? `above ${rule.above}`
      : `below ${rule.below}`;
  const span = rule.forSeconds > 0 ? ` for ${rule.forSeconds} s` : "";
  return `ALERT ${rule.name}: ${e.sensor} ${withUnit(e)} ${side}${span}`;
}

function recoveredText(rule: AlertRule, e: EventFacts): string {
  return `RECOVERED ${rule.name}: ${e.sensor} back to ${withUnit(e)}`;
}

function withUnit(e: EventFacts): string {
  return e.unit ? `${e.value} ${e.unit}` : String(e.value);
}
