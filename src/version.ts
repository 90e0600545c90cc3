/** The agent's version, as in package.json (a unit test keeps the two equal). */
export const AGENT_NAME = "xmpp-iot-agent";
export const AGENT_VERSION = "0.1.0";
