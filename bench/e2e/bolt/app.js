// The Bolt peer of the infra-bot end-to-end load benchmark (bench/e2e/run.sh).
// A minimal @slack/bolt app in Socket Mode, pointed at the load generator's fake Slack:
// it acks `/infra` with the ephemeral "working on it" message infra-bot acks with
// (same text, same section block) and does nothing else.
//
// Environment: SLACK_APP_TOKEN, SLACK_BOT_TOKEN, SLACK_API_URL (the fake's …/api/),
// NODE_EXTRA_CA_CERTS (the fake's CA).
'use strict';
const { App, LogLevel } = require('@slack/bolt');

const slackApiUrl = process.env.SLACK_API_URL;
const app = new App({
  token: process.env.SLACK_BOT_TOKEN,
  appToken: process.env.SLACK_APP_TOKEN,
  socketMode: true,
  logLevel: LogLevel.WARN,
  // The app's own WebClient (auth.test at start) …
  clientOptions: { slackApiUrl },
  // … and the SocketModeReceiver's, which calls apps.connections.open.
  installerOptions: { clientOptions: { slackApiUrl } },
});

app.command('/infra', async ({ command, ack }) => {
  const line = `:hourglass_flowing_sand: Working on \`${command.text}\`…`;
  await ack({
    response_type: 'ephemeral',
    text: line,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: line } }],
  });
});

app.start().catch((error) => {
  console.error(error);
  process.exit(1);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
