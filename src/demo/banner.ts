/**
 * The demo's opening text: what is running where, the accounts with their passwords (they are
 * throwaway, and a newcomer needs them to log in with a real client), and what to type first.
 */
import { DEMO_ALERT, type DemoEnvironment } from "./environment.js";

const ROLES = {
  owner: "admin: may also set actuators  <- this console",
  viewer: "viewer: may read and subscribe",
  dash: "gets every reading (a dashboard)",
  agent: "the agent itself",
} as const;

function accountLines(env: DemoEnvironment): string[] {
  const width = Math.max(...Object.values(env.accounts).map((a) => a.jid.length));
  return (["owner", "viewer", "dash", "agent"] as const).map((user) => {
    const { jid, password } = env.accounts[user];
    return `${jid.padEnd(width)}  password ${password}  ${ROLES[user]}`;
  });
}

export function demoBanner(env: DemoEnvironment, interactive: boolean): string {
  const { server } = env;
  const a = DEMO_ALERT;
  const [first = "", ...more] = accountLines(env);
  const lines = [
    "xmpp-iot-agent demo: everything below runs on 127.0.0.1, files in",
    `  ${env.dir} (removed on exit)`,
    "",
    `  server    private Prosody on 127.0.0.1:${server.port}, domain ${server.domain}, TLS with a`,
    `            self-signed certificate (CA file ${server.caFile})`,
    `  device    emulated board (temp, hum, door; relay, led) on ${env.devicePath}`,
    `  agent     ${env.accounts.agent.jid}, configured by ${env.configFile}`,
    `            its log: tail -f ${env.logFile}`,
    `  alert     ${a.sensor} above ${a.above} °C for ${a.forSeconds} s (expect it within a minute)`,
    `  accounts  ${first}`,
    ...more.map((line) => `            ${line}`),
    "",
    "A real XMPP client can join: log in as owner@localhost with the password above, server",
    `127.0.0.1 port ${server.port}, trusting the CA file above (or accepting its certificate),`,
    "and chat with agent@localhost. For example:",
    `  profanity: /connect owner@localhost server 127.0.0.1 port ${server.port} tls trust`,
    `  Gajim:     add account owner@localhost, Advanced: host 127.0.0.1, port ${server.port}`,
    "",
    interactive
      ? "First commands to try: help, status, get temp, set relay on, set led blink, unsubscribe."
      : "No console (--no-console): printing what the owner receives; Ctrl-C stops.",
    "",
  ];
  return `${lines.join("\n")}\n`;
}
