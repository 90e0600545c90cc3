/**
 * The serial link as the commands see a device: its state and description, the latest reading,
 * and the two things a command may ask of it.
 */
import type { DeviceControl } from "../core/commands.js";
import type { Reading } from "../core/reading.js";
import type { SerialLink } from "./serial-link.js";

export function deviceControl(link: SerialLink, latest: () => Reading | undefined): DeviceControl {
  return {
    get state() {
      return link.state;
    },
    get description() {
      return link.device;
    },
    latest,
    setActuator: (name, value) => link.setActuator(name, value),
    requestHello: () => link.requestHello(),
  };
}
