// Checks the template that `npm run synth:nobuild` wrote to cdk.out against infra/generated/manifest.json
// (event names, permissions) and against what infra/template.yaml declares.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadDenyPolicy } from '../lib/deny-policy';
import { loadManifest, PermissionsBySid } from '../lib/manifest';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const TEMPLATE = join(__dirname, '..', 'cdk.out', 'Tagwarden.template.json');
const template: Json = JSON.parse(readFileSync(TEMPLATE, 'utf8'));
const resources: Record<string, Json> = template.Resources;
const manifest = loadManifest();
const architecture = process.env.TAGWARDEN_CDK_ARCHITECTURE ?? 'arm64';

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const sorted = (xs: string[]) => [...xs].sort();
const list = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

/** The role's inline statements with a Sid, i.e. the manifest's; the on-failure SQS statement has none. */
function statementsBySid(roleId: string): Record<string, Json> {
  const role = resources[roleId];
  assert.equal(role?.Type, 'AWS::IAM::Role', `${roleId} is a role`);
  const statements = (role.Properties.Policies ?? []).flatMap((p: Json) => p.PolicyDocument.Statement);
  return Object.fromEntries(statements.filter((s: Json) => s.Sid).map((s: Json) => [s.Sid, s]));
}

function assertPermissions(roleId: string, expected: PermissionsBySid) {
  const bySid = statementsBySid(roleId);
  assert.deepEqual(sorted(Object.keys(bySid)), sorted(Object.keys(expected)), `${roleId}: one statement per Sid`);
  for (const [sid, actions] of Object.entries(expected)) {
    const statement = bySid[sid];
    assert.equal(statement.Effect, 'Allow');
    assert.deepEqual(sorted(list(statement.Action)), sorted(actions), `${roleId} ${sid}: the manifest's actions`);
    for (const action of list<string>(statement.Action)) {
      assert.ok(!action.includes('*'), `${roleId} ${sid}: no wildcard action (${action})`);
    }
    const wildcardResource = list(statement.Resource).includes('*');
    assert.equal(wildcardResource, sid === 'ListCalls', `${roleId} ${sid}: only ListCalls is granted on "*"`);
  }
  // Nothing else: the basic execution role for logs and sqs:SendMessage on the function's own dead-letter queue.
  const role = resources[roleId];
  assert.equal(role.Properties.ManagedPolicyArns.length, 1);
  assert.match(JSON.stringify(role.Properties.ManagedPolicyArns[0]), /service-role\/AWSLambdaBasicExecutionRole/);
  const others = role.Properties.Policies.flatMap((p: Json) => p.PolicyDocument.Statement).filter((s: Json) => !s.Sid);
  assert.deepEqual(
    others.map((s: Json) => s.Action),
    ['sqs:SendMessage'],
  );
  const attached = ofType('AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(roleId));
  assert.deepEqual(attached, [], `${roleId}: no policy attached by a grant`);
}

test('both functions run on provided.al2023 with the chosen architecture, JSON logs to their own log group', () => {
  for (const [id, memory, timeout] of [
    ['AutoTaggerFunction', 128, 300],
    ['BudgetEnforcerFunction', 256, 300],
  ] as const) {
    const fn = resources[id].Properties;
    assert.equal(fn.Runtime, 'provided.al2023');
    assert.equal(fn.Handler, 'bootstrap');
    assert.deepEqual(fn.Architectures, [architecture]);
    assert.equal(fn.MemorySize, memory);
    assert.equal(fn.Timeout, timeout);
    assert.equal(fn.LoggingConfig.LogFormat, 'JSON');
    const logGroup = fn.LoggingConfig.LogGroup.Ref;
    assert.deepEqual(resources[logGroup].Properties.RetentionInDays, { Ref: 'LogRetentionDays' });
    assert.equal(resources[logGroup].DeletionPolicy, 'Delete');
  }
  assert.equal(resources.BudgetEnforcerFunction.Properties.ReservedConcurrentExecutions, 1);
});

test('environment variables are exactly those of the SAM template', () => {
  const common = { RUST_LOG: 'info', TAGWARDEN_POLICY_PARAMETER: { Ref: 'PolicyParameterName' } };
  assert.deepEqual(resources.AutoTaggerFunction.Properties.Environment.Variables, {
    ...common,
    TAGWARDEN_NOTIFY_TOPIC_ARN: { Ref: 'NotificationTopic' },
    TAGWARDEN_TRUSTED_PRINCIPALS: { 'Fn::GetAtt': ['BudgetEnforcerFunctionRole', 'Arn'] },
  });
  assert.deepEqual(resources.BudgetEnforcerFunction.Properties.Environment.Variables, {
    ...common,
    TAGWARDEN_ENFORCEMENT_TOPIC_ARN: { Ref: 'NotificationTopic' },
    TAGWARDEN_DENY_POLICY_ARN: { Ref: 'DenyPolicy' },
  });
});

test("the rule's event names are the manifest's", () => {
  const rule = resources.AutoTaggerFunctionSageMakerCalls.Properties;
  assert.deepEqual(rule.EventPattern.source, ['aws.sagemaker']);
  assert.deepEqual(rule.EventPattern['detail-type'], ['AWS API Call via CloudTrail']);
  assert.deepEqual(rule.EventPattern.detail.eventSource, ['sagemaker.amazonaws.com']);
  assert.deepEqual(rule.EventPattern.detail.eventName, manifest.autoTagger.eventNames);
  const [target] = rule.Targets;
  assert.deepEqual(target.Arn, { 'Fn::GetAtt': ['AutoTaggerFunction', 'Arn'] });
  assert.deepEqual(target.RetryPolicy, { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 3600 });
  assert.deepEqual(target.DeadLetterConfig.Arn, { 'Fn::GetAtt': ['AutoTaggerDeadLetterQueue', 'Arn'] });
});

test("each role grants the manifest's actions per Sid, and nothing more", () => {
  assertPermissions('AutoTaggerFunctionRole', manifest.autoTagger.permissions);
  assertPermissions('BudgetEnforcerFunctionRole', manifest.budgetEnforcer.permissions);
});

test('the deny policy can be attached and detached only as itself', () => {
  const statement = statementsBySid('BudgetEnforcerFunctionRole').DenyPolicyAttachment;
  assert.deepEqual(statement.Condition, { ArnEquals: { 'iam:PolicyARN': { Ref: 'DenyPolicy' } } });
  assert.match(JSON.stringify(statement.Resource), /:role\/\*/);
});

test("the deny policy deploys the library's document (infra/generated/deny-policy.json)", () => {
  assert.deepEqual(resources.DenyPolicy.Properties.PolicyDocument, loadDenyPolicy());
});

test('failed async invocations go to one dead-letter queue per function', () => {
  for (const [name, maxAge] of [
    ['AutoTagger', 3600],
    ['BudgetEnforcer', 21600],
  ] as const) {
    const config = resources[`${name}FunctionEventInvokeConfig`].Properties;
    assert.equal(config.MaximumRetryAttempts, 2);
    assert.equal(config.MaximumEventAgeInSeconds, maxAge);
    assert.deepEqual(config.DestinationConfig.OnFailure.Destination, {
      'Fn::GetAtt': [`${name}DeadLetterQueue`, 'Arn'],
    });
    const queue = resources[`${name}DeadLetterQueue`].Properties;
    assert.equal(queue.MessageRetentionPeriod, 1209600);
    assert.equal(queue.SqsManagedSseEnabled, true);
  }
});

test('budget alerts reach the budget-enforcer, and the period reset runs monthly', () => {
  const subscription = resources.BudgetEnforcerFunctionBudgetAlerts.Properties;
  assert.equal(subscription.Protocol, 'lambda');
  assert.deepEqual(subscription.TopicArn, { Ref: 'BudgetAlertsTopic' });
  const topicPolicy = resources.BudgetAlertsTopicPolicy.Properties.PolicyDocument.Statement[0];
  assert.deepEqual(topicPolicy.Principal, { Service: 'budgets.amazonaws.com' });
  assert.ok(topicPolicy.Condition.StringEquals['aws:SourceAccount']);
  assert.ok(topicPolicy.Condition.ArnLike['aws:SourceArn']);
  const reset = resources.BudgetEnforcerFunctionPeriodReset.Properties;
  assert.equal(reset.ScheduleExpression, 'cron(5 0 1 * ? *)');
  assert.deepEqual(JSON.parse(reset.Targets[0].Input), { tagwarden: 'restore' });
});

test('the estate sweep runs on the SweepSchedule parameter, disabled by EnableSweep=false', () => {
  const rule = resources.AutoTaggerFunctionEstateSweep.Properties;
  assert.deepEqual(rule.ScheduleExpression, { Ref: 'SweepSchedule' });
  assert.deepEqual(rule.State, { 'Fn::If': ['SweepEnabled', 'ENABLED', 'DISABLED'] });
  assert.deepEqual(rule.Targets[0].Arn, { 'Fn::GetAtt': ['AutoTaggerFunction', 'Arn'] });
  assert.deepEqual(template.Conditions.SweepEnabled, { 'Fn::Equals': [{ Ref: 'EnableSweep' }, 'true'] });
});

test('the example budget is conditional and alerts at 80/100/120 % actual and 100 % forecast', () => {
  const budget = resources.ExampleCostBudget;
  assert.equal(budget.Condition, 'ExampleBudget');
  const notifications = budget.Properties.NotificationsWithSubscribers.map(
    (n: Json) => `${n.Notification.NotificationType} ${n.Notification.Threshold}`,
  );
  assert.deepEqual(notifications, ['ACTUAL 80', 'ACTUAL 100', 'ACTUAL 120', 'FORECASTED 100']);
  assert.match(JSON.stringify(budget.Properties.Budget.CostFilters.TagKeyValue), /user:.*CostAllocationTagKey.*\$.*CostCenterTagValue/);
});

test("the SAM template's parameters, resources and outputs, and no others", () => {
  // SAM's expansion of infra/template.yaml, by logical id; the CDK app keeps the ids.
  const sam = [
    'AutoTaggerDeadLetterQueue', 'AutoTaggerDeadLetterQueuePolicy', 'AutoTaggerFunction',
    'AutoTaggerFunctionEstateSweep', 'AutoTaggerFunctionEstateSweepPermission',
    'AutoTaggerFunctionEventInvokeConfig', 'AutoTaggerFunctionRole', 'AutoTaggerFunctionSageMakerCalls',
    'AutoTaggerFunctionSageMakerCallsPermission', 'AutoTaggerLogGroup', 'BudgetAlertsTopic',
    'BudgetAlertsTopicPolicy', 'BudgetEnforcerDeadLetterQueue', 'BudgetEnforcerFunction',
    'BudgetEnforcerFunctionBudgetAlerts', 'BudgetEnforcerFunctionBudgetAlertsPermission',
    'BudgetEnforcerFunctionEventInvokeConfig', 'BudgetEnforcerFunctionPeriodReset',
    'BudgetEnforcerFunctionPeriodResetPermission', 'BudgetEnforcerFunctionRole', 'BudgetEnforcerLogGroup',
    'BudgetEnforcerDeadLetterQueue', 'DenyPolicy', 'ExampleCostBudget', 'NotificationTopic',
  ];
  assert.deepEqual(sorted(Object.keys(resources)), sorted([...new Set(sam)]));
  // Architecture is synth-time context here (cargo-lambda builds for it); BootstrapVersion is CDK's.
  assert.deepEqual(sorted(Object.keys(template.Parameters)), [
    'BootstrapVersion', 'BudgetAmount', 'BudgetName', 'CostAllocationTagKey', 'CostCenterTagValue',
    'CreateExampleBudget', 'EnableSweep', 'LogRetentionDays', 'MemberRoleName', 'PolicyParameterName',
    'SweepSchedule',
  ]);
  assert.deepEqual(sorted(Object.keys(template.Outputs)), [
    'AutoTaggerDeadLetterQueueUrl', 'AutoTaggerFunctionArn', 'BudgetAlertsTopicArn', 'BudgetEnforcerDeadLetterQueueUrl',
    'BudgetEnforcerFunctionArn', 'DenyPolicyArn', 'NotificationTopicArn',
  ]);
});

test('a Sid the app has no resource scope for fails the synth instead of being granted on "*"', () => {
  // Loaded here so that the checks above need nothing but the template.
  const { App } = require('aws-cdk-lib');
  const { Architecture } = require('aws-cdk-lib/aws-lambda');
  const { TagwardenStack } = require('../lib/tagwarden-stack');
  const app = new App({ postCliContext: { 'aws:cdk:bundling-stacks': [] } });
  const unknown = { ...manifest, budgetEnforcer: { permissions: { NewScope: ['sagemaker:DeleteEverything'] } } };
  assert.throws(
    () => new TagwardenStack(app, 'Unknown', { manifest: unknown, architecture: Architecture.ARM_64 }),
    /no resource scope known for Sid NewScope/,
  );
});
