// Checks the template that `npm run synth:nobuild` wrote to cdk.out against infra/generated/manifest.json
// (event names, permissions) and against what infra/template.yaml declares.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { INSTANCE_TYPES_CONDITION, loadDenyInstanceTypesPolicy, loadDenyPolicy } from '../lib/deny-policy';
import { loadManifest, PermissionsBySid } from '../lib/manifest';
import { CONDITIONAL_SIDS, DEFAULT_POLICY, ORGANIZATION_ONLY_SIDS, withoutOrganizationOnly } from '../lib/tagwarden-stack';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const TEMPLATE = join(__dirname, '..', 'cdk.out', 'Tagwarden.template.json');
const template: Json = JSON.parse(readFileSync(TEMPLATE, 'utf8'));
const resources: Record<string, Json> = template.Resources;
const manifest = loadManifest();
const architecture = process.env.TAGWARDEN_CDK_ARCHITECTURE ?? 'arm64';

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const sorted = (xs: string[]) => [...xs].sort();
const list = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

/**
 * The role's inline statements, each with the template Condition it is granted under: a conditional one is
 * written `{"Fn::If": [Condition, statement, {"Ref": "AWS::NoValue"}]}`, as in the SAM template.
 */
function inlineStatements(roleId: string): Array<{ condition?: string; statement: Json }> {
  const role = resources[roleId];
  assert.equal(role?.Type, 'AWS::IAM::Role', `${roleId} is a role`);
  return (role.Properties.Policies ?? [])
    .flatMap((p: Json) => p.PolicyDocument.Statement)
    .map((s: Json) => {
      if (!s['Fn::If']) return { statement: s };
      const [condition, statement, otherwise] = s['Fn::If'];
      assert.deepEqual(otherwise, { Ref: 'AWS::NoValue' }, `${roleId}: a conditional statement or none`);
      return { condition, statement };
    });
}

/** The role's inline statements with a Sid, i.e. the manifest's; the on-failure SQS statement has none. */
function statementsBySid(roleId: string): Record<string, Json> {
  const statements = inlineStatements(roleId).map(({ statement }) => statement);
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
  // Only the opt-in Sids are conditional, each under its own Condition.
  for (const { condition, statement } of inlineStatements(roleId)) {
    if (statement.Sid) assert.equal(condition, CONDITIONAL_SIDS[statement.Sid], `${roleId} ${statement.Sid}: Condition`);
  }
  // Nothing else: the basic execution role for logs, SAM's SQS poller policy for the sweep pages and the
  // enforcement continuations, and sqs:SendMessage on the function's own dead-letter queue.
  const role = resources[roleId];
  const managed = role.Properties.ManagedPolicyArns.map((arn: Json) => JSON.stringify(arn));
  const managedPolicies = [/service-role\/AWSLambdaBasicExecutionRole/, /service-role\/AWSLambdaSQSQueueExecutionRole/];
  assert.equal(managed.length, managedPolicies.length, `${roleId}: ${managed}`);
  managedPolicies.forEach((pattern, i) => assert.match(managed[i], pattern));
  const others = inlineStatements(roleId)
    .map(({ statement }) => statement)
    .filter((s: Json) => !s.Sid);
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
  const common = { RUST_LOG: 'info', TAGWARDEN_POLICY_PARAMETER: { Ref: 'PolicyParameter' } };
  assert.deepEqual(resources.AutoTaggerFunction.Properties.Environment.Variables, {
    ...common,
    TAGWARDEN_NOTIFY_TOPIC_ARN: { Ref: 'NotificationTopic' },
    TAGWARDEN_LEDGER_TABLE: { Ref: 'EnforcementLedger' },
    TAGWARDEN_SWEEP_QUEUE_URL: { Ref: 'SweepQueue' },
    TAGWARDEN_TRUSTED_PRINCIPALS: { 'Fn::GetAtt': ['BudgetEnforcerFunctionRole', 'Arn'] },
    TAGWARDEN_ALERTS_TOPIC_ARN: { Ref: 'BudgetAlertsTopic' },
  });
  assert.deepEqual(resources.BudgetEnforcerFunction.Properties.Environment.Variables, {
    ...common,
    TAGWARDEN_ENFORCEMENT_TOPIC_ARN: { Ref: 'NotificationTopic' },
    TAGWARDEN_DENY_POLICY_ARN: { Ref: 'DenyPolicy' },
    TAGWARDEN_DENY_INSTANCE_TYPES_POLICY_ARN: { Ref: 'DenyInstanceTypesPolicy' },
    TAGWARDEN_LEDGER_TABLE: { Ref: 'EnforcementLedger' },
    TAGWARDEN_ALERT_TOPICS: { Ref: 'BudgetAlertsTopic' },
    TAGWARDEN_CONTINUATION_QUEUE_URL: { Ref: 'ContinuationQueue' },
    TAGWARDEN_ALLOW_ENDPOINT_DELETION: { Ref: 'AllowEndpointDeletion' },
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
  assertPermissions('AutoTaggerFunctionRole', withoutOrganizationOnly(manifest.autoTagger.permissions));
  assertPermissions('BudgetEnforcerFunctionRole', withoutOrganizationOnly(manifest.budgetEnforcer.permissions));
});

test('without organization mode no role can assume a role or read an external id', () => {
  for (const sid of ORGANIZATION_ONLY_SIDS) {
    assert.ok(manifest.autoTagger.permissions[sid] && manifest.budgetEnforcer.permissions[sid], `${sid} is in the manifest`);
  }
  for (const roleId of ['AutoTaggerFunctionRole', 'BudgetEnforcerFunctionRole']) {
    const statements = inlineStatements(roleId).map(({ statement }) => statement);
    const actions = statements.flatMap((s: Json) => list<string>(s.Action));
    assert.ok(!actions.includes('sts:AssumeRole'), `${roleId}: no sts:AssumeRole`);
    assert.ok(!statements.some((s: Json) => ORGANIZATION_ONLY_SIDS.includes(s.Sid)), `${roleId}: no organization Sid`);
  }
  assert.equal(template.Parameters.MemberRoleName, undefined);
});

test('the deny policy can be attached and detached only as itself', () => {
  const statement = statementsBySid('BudgetEnforcerFunctionRole').DenyPolicyAttachment;
  assert.deepEqual(statement.Condition, { ArnEquals: { 'iam:PolicyARN': { Ref: 'DenyPolicy' } } });
  assert.match(JSON.stringify(statement.Resource), /:role\/\*/);
});

test("the deny policy deploys the library's document (infra/generated/deny-policy.json)", () => {
  assert.deepEqual(resources.DenyPolicy.Properties.PolicyDocument, loadDenyPolicy());
});

test('the instance-types policy can be attached and detached only as itself', () => {
  const statement = statementsBySid('BudgetEnforcerFunctionRole').DenyInstanceTypesPolicyAttachment;
  assert.deepEqual(statement.Condition, { ArnEquals: { 'iam:PolicyARN': { Ref: 'DenyInstanceTypesPolicy' } } });
});

test("the instance-types policy deploys the library's document with its patterns as DeniedInstanceTypes", () => {
  const { document, patterns } = loadDenyInstanceTypesPolicy();
  const deployed = JSON.parse(JSON.stringify(resources.DenyInstanceTypesPolicy.Properties.PolicyDocument));
  const condition = deployed.Statement[0].Condition[INSTANCE_TYPES_CONDITION];
  assert.deepEqual(condition['sagemaker:InstanceTypes'], { Ref: 'DeniedInstanceTypes' });
  assert.equal(template.Parameters.DeniedInstanceTypes.Default, patterns.join(','));
  condition['sagemaker:InstanceTypes'] = patterns;
  assert.deepEqual(deployed, document);
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

test('budget alerts reach the budget-enforcer, its tick runs every 5 minutes and its burn-rate guard every 10', () => {
  const subscription = resources.BudgetEnforcerFunctionBudgetAlerts.Properties;
  assert.equal(subscription.Protocol, 'lambda');
  assert.deepEqual(subscription.TopicArn, { Ref: 'BudgetAlertsTopic' });
  const tick = resources.BudgetEnforcerFunctionTick.Properties;
  assert.equal(tick.ScheduleExpression, 'rate(5 minutes)');
  assert.deepEqual(JSON.parse(tick.Targets[0].Input), { tagwarden: 'tick' });
  assert.deepEqual(tick.Targets[0].Arn, { 'Fn::GetAtt': ['BudgetEnforcerFunction', 'Arn'] });
  const burn = resources.BudgetEnforcerFunctionBurnRate.Properties;
  assert.equal(burn.ScheduleExpression, 'rate(10 minutes)');
  assert.deepEqual(JSON.parse(burn.Targets[0].Input), { tagwarden: 'burn' });
  assert.deepEqual(burn.Targets[0].Arn, { 'Fn::GetAtt': ['BudgetEnforcerFunction', 'Arn'] });
});

test('the idle rules run every 10 minutes, and endpoint deletion follows AllowEndpointDeletion', () => {
  const idle = resources.BudgetEnforcerFunctionIdle.Properties;
  assert.equal(idle.ScheduleExpression, 'rate(10 minutes)');
  assert.deepEqual(JSON.parse(idle.Targets[0].Input), { tagwarden: 'idle' });
  assert.deepEqual(idle.Targets[0].Arn, { 'Fn::GetAtt': ['BudgetEnforcerFunction', 'Arn'] });
  const env = resources.BudgetEnforcerFunction.Properties.Environment.Variables;
  assert.deepEqual(env.TAGWARDEN_ALLOW_ENDPOINT_DELETION, { Ref: 'AllowEndpointDeletion' });
});

test('only AWS Budgets and Cost Anomaly Detection of this account may publish alerts; every other publisher is denied', () => {
  const policy = resources.BudgetAlertsTopicPolicy.Properties;
  assert.deepEqual(policy.Topics, [{ Ref: 'BudgetAlertsTopic' }]);
  const [allow, anomalies, deny, ...rest] = policy.PolicyDocument.Statement;
  assert.deepEqual(rest, []);
  assert.deepEqual(anomalies.Principal, { Service: 'costalerts.amazonaws.com' });
  assert.deepEqual(anomalies.Condition.StringEquals['aws:SourceAccount'], { Ref: 'AWS::AccountId' });
  assert.match(JSON.stringify(anomalies.Condition.ArnLike['aws:SourceArn']), /:ce::.*AWS::AccountId.*:anomalysubscription\/\*/);
  assert.equal(allow.Effect, 'Allow');
  assert.deepEqual(allow.Principal, { Service: 'budgets.amazonaws.com' });
  assert.equal(allow.Action, 'sns:Publish');
  assert.deepEqual(allow.Condition.StringEquals['aws:SourceAccount'], { Ref: 'AWS::AccountId' });
  assert.match(JSON.stringify(allow.Condition.ArnLike['aws:SourceArn']), /:budgets::.*AWS::AccountId.*:\*/);
  assert.equal(deny.Effect, 'Deny');
  assert.equal(deny.Principal, '*');
  assert.equal(deny.Action, 'sns:Publish');
  assert.deepEqual(deny.Resource, { Ref: 'BudgetAlertsTopic' });
  // Denied unless the Budgets service principal or one of the stack's roles publishes (crates/tagwarden/tests/
  // template.rs evaluates the same condition case by case).
  assert.deepEqual(deny.Condition, {
    StringNotEquals: { 'aws:PrincipalServiceName': ['budgets.amazonaws.com', 'costalerts.amazonaws.com'] },
    ArnNotEquals: {
      'aws:PrincipalArn': [
        { 'Fn::GetAtt': ['AutoTaggerFunctionRole', 'Arn'] },
        { 'Fn::GetAtt': ['BudgetEnforcerFunctionRole', 'Arn'] },
      ],
    },
  });
});

test("every Lambda permission names one of the stack's own topics or rules", () => {
  const permissions = ofType('AWS::Lambda::Permission');
  assert.equal(permissions.length, 6);
  const bySource: Record<string, string> = {};
  for (const [id, permission] of permissions) {
    const { Action, Principal, SourceArn, FunctionName } = permission.Properties;
    assert.equal(Action, 'lambda:InvokeFunction', id);
    let source: string;
    if (Principal === 'sns.amazonaws.com') {
      source = SourceArn.Ref;
      assert.equal(resources[source]?.Type, 'AWS::SNS::Topic', `${id}: a topic of this stack`);
    } else {
      assert.equal(Principal, 'events.amazonaws.com', id);
      assert.equal(SourceArn['Fn::GetAtt']?.[1], 'Arn', `${id}: the ARN of a rule of this stack`);
      source = SourceArn['Fn::GetAtt'][0];
      assert.equal(resources[source]?.Type, 'AWS::Events::Rule', `${id}: a rule of this stack`);
    }
    bySource[source] = JSON.stringify(FunctionName);
  }
  assert.deepEqual(sorted(Object.keys(bySource)), [
    'AutoTaggerFunctionEstateSweep', 'AutoTaggerFunctionSageMakerCalls', 'BudgetAlertsTopic',
    'BudgetEnforcerFunctionBurnRate', 'BudgetEnforcerFunctionIdle', 'BudgetEnforcerFunctionTick',
  ]);
  assert.match(bySource.BudgetEnforcerFunctionBurnRate, /BudgetEnforcerFunction/);
  assert.match(bySource.BudgetEnforcerFunctionIdle, /BudgetEnforcerFunction/);
  assert.match(bySource.BudgetAlertsTopic, /BudgetEnforcerFunction/);
  assert.match(bySource.BudgetEnforcerFunctionTick, /BudgetEnforcerFunction/);
  assert.match(bySource.AutoTaggerFunctionSageMakerCalls, /AutoTaggerFunction/);
  assert.match(bySource.AutoTaggerFunctionEstateSweep, /AutoTaggerFunction/);
  for (const [id] of ofType('AWS::Lambda::Url')) assert.fail(`${id}: a function URL is another way in`);
});

test('the enforcement ledger is on demand, recoverable, encrypted, expiring, kept, and indexed by resource', () => {
  const table = resources.EnforcementLedger;
  assert.equal(table.Type, 'AWS::DynamoDB::Table');
  assert.equal(table.DeletionPolicy, 'Retain');
  assert.equal(table.UpdateReplacePolicy, 'Retain');
  const p = table.Properties;
  assert.equal(p.BillingMode, 'PAY_PER_REQUEST');
  assert.deepEqual(p.PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: true });
  assert.deepEqual(p.SSESpecification, { SSEEnabled: true });
  assert.deepEqual(p.TimeToLiveSpecification, { AttributeName: 'expires', Enabled: true });
  assert.deepEqual(p.KeySchema, [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ]);
  assert.deepEqual(p.GlobalSecondaryIndexes, [
    {
      IndexName: 'by-resource',
      KeySchema: [
        { AttributeName: 'resource', KeyType: 'HASH' },
        { AttributeName: 'at', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
  ]);
  const ledger = statementsBySid('BudgetEnforcerFunctionRole').EnforcementLedger;
  assert.deepEqual(ledger.Resource[0], { 'Fn::GetAtt': ['EnforcementLedger', 'Arn'] });
  assert.match(JSON.stringify(ledger.Resource[1]), /EnforcementLedger.*\/index\/\*/);
  assert.equal(statementsBySid('AutoTaggerFunctionRole').EnforcementLedger, undefined);
  const sources = statementsBySid('AutoTaggerFunctionRole').SourceRecords;
  assert.deepEqual(sources.Resource, { 'Fn::GetAtt': ['EnforcementLedger', 'Arn'] });
  assert.deepEqual(sources.Condition, { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': 'source#*' } });
});

test('endpoint deletion is granted only when AllowEndpointDeletion is true, false by default', () => {
  assert.equal(template.Parameters.AllowEndpointDeletion.Default, 'false');
  assert.deepEqual(template.Conditions.EndpointDeletionAllowed, {
    'Fn::Equals': [{ Ref: 'AllowEndpointDeletion' }, 'true'],
  });
  const conditional = inlineStatements('BudgetEnforcerFunctionRole').filter(({ condition }) => condition);
  assert.equal(conditional.length, 1);
  const [{ condition, statement }] = conditional;
  assert.equal(condition, 'EndpointDeletionAllowed');
  assert.deepEqual(list(statement.Action), ['sagemaker:CreateEndpoint', 'sagemaker:DeleteEndpoint']);
  assert.match(JSON.stringify(statement.Resource), /:endpoint\/\*/);
  assert.match(JSON.stringify(statement.Resource), /:endpoint-config\/\*/);
  const sagemaker = statementsBySid('BudgetEnforcerFunctionRole').SageMakerResources;
  assert.ok(!list(sagemaker.Action).includes('sagemaker:DeleteEndpoint'));
});

test("the policy parameter is the stack's own, its default is SAM's, and its changes are announced", () => {
  const parameter = resources.PolicyParameter;
  assert.equal(parameter.Type, 'AWS::SSM::Parameter');
  assert.deepEqual(parameter.Properties.Name, { Ref: 'PolicyParameterName' });
  assert.deepEqual(parameter.Properties.Value, { Ref: 'PolicyYaml' });
  assert.equal(template.Parameters.PolicyYaml.Default, DEFAULT_POLICY);
  // The SAM template's default (crates/tagwarden/tests/template.rs parses it as a policy).
  const sam = readFileSync(join(__dirname, '..', '..', 'template.yaml'), 'utf8');
  assert.ok(sam.includes(`    Default: '${DEFAULT_POLICY}'\n`), "the SAM template's PolicyYaml default");
  const rule = resources.PolicyParameterChanges.Properties;
  assert.deepEqual(rule.EventPattern, {
    source: ['aws.ssm'],
    'detail-type': ['Parameter Store Change'],
    detail: { name: [{ Ref: 'PolicyParameterName' }] },
  });
  assert.equal(rule.Targets.length, 1);
  assert.deepEqual(rule.Targets[0].Arn, { Ref: 'NotificationTopic' });
  const topicPolicy = resources.NotificationTopicPolicy.Properties;
  assert.deepEqual(topicPolicy.Topics, [{ Ref: 'NotificationTopic' }]);
  assert.deepEqual(topicPolicy.PolicyDocument.Statement.length, 1);
  const [publish] = topicPolicy.PolicyDocument.Statement;
  assert.deepEqual(publish.Principal, { Service: 'events.amazonaws.com' });
  assert.deepEqual(publish.Condition, { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['PolicyParameterChanges', 'Arn'] } } });
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

test('the auto-tagger has reserved concurrency from AutoTaggerReservedConcurrency, 20 by default, 0 unreserved', () => {
  const parameter = template.Parameters.AutoTaggerReservedConcurrency;
  assert.equal(parameter.Type, 'Number');
  assert.equal(parameter.Default, 20);
  assert.equal(parameter.MinValue, 0);
  assert.deepEqual(template.Conditions.AutoTaggerConcurrencyReserved, {
    'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AutoTaggerReservedConcurrency' }, '0'] }],
  });
  assert.deepEqual(resources.AutoTaggerFunction.Properties.ReservedConcurrentExecutions, {
    'Fn::If': ['AutoTaggerConcurrencyReserved', { Ref: 'AutoTaggerReservedConcurrency' }, { Ref: 'AWS::NoValue' }],
  });
  assert.equal(resources.BudgetEnforcerFunction.Properties.ReservedConcurrentExecutions, 1);
});

test("the SAM template's parameters, resources and outputs, and no others", () => {
  // SAM's expansion of infra/template.yaml, by logical id; the CDK app keeps the ids.
  const sam = [
    'AutoTaggerDeadLetterQueue', 'AutoTaggerDeadLetterQueuePolicy', 'AutoTaggerFunction',
    'AutoTaggerFunctionEstateSweep', 'AutoTaggerFunctionEstateSweepPermission',
    'AutoTaggerFunctionEventInvokeConfig', 'AutoTaggerFunctionRole', 'AutoTaggerFunctionSageMakerCalls',
    'AutoTaggerFunctionSageMakerCallsPermission', 'AutoTaggerFunctionSweepPages', 'AutoTaggerLogGroup',
    'BudgetAlertsTopic',
    'BudgetAlertsTopicPolicy', 'BudgetEnforcerDeadLetterQueue', 'BudgetEnforcerFunction',
    'BudgetEnforcerFunctionBudgetAlerts', 'BudgetEnforcerFunctionBudgetAlertsPermission',
    'BudgetEnforcerFunctionEventInvokeConfig', 'BudgetEnforcerFunctionTick',
    'BudgetEnforcerFunctionTickPermission', 'BudgetEnforcerFunctionBurnRate', 'BudgetEnforcerFunctionBurnRatePermission',
    'BudgetEnforcerFunctionIdle', 'BudgetEnforcerFunctionIdlePermission', 'BudgetEnforcerFunctionRole', 'BudgetEnforcerLogGroup',
    'BudgetEnforcerDeadLetterQueue', 'BudgetEnforcerFunctionContinuations', 'ContinuationDeadLetterQueue',
    'ContinuationQueue', 'CostCenterNoticesSubscription', 'DenyInstanceTypesPolicy', 'DenyPolicy', 'EnforcementLedger', 'ExampleCostBudget', 'NotificationTopic',
    'NotificationTopicPolicy', 'PolicyParameter', 'PolicyParameterChanges', 'SweepDeadLetterQueue', 'SweepQueue',
  ];
  assert.deepEqual(sorted(Object.keys(resources)), sorted([...new Set(sam)]));
  // Architecture is synth-time context here (cargo-lambda builds for it); BootstrapVersion is CDK's.
  assert.deepEqual(sorted(Object.keys(template.Parameters)), [
    'AllowEndpointDeletion', 'AutoTaggerReservedConcurrency', 'BootstrapVersion', 'BudgetAmount', 'BudgetName',
    'CostAllocationTagKey', 'CostCenterNoticesEmail', 'CostCenterTagValue', 'CreateExampleBudget', 'DeniedInstanceTypes', 'EnableSweep',
    'LogRetentionDays',
    'PolicyParameterName', 'PolicyYaml', 'SweepSchedule',
  ]);
  assert.deepEqual(sorted(Object.keys(template.Outputs)), [
    'AutoTaggerDeadLetterQueueUrl', 'AutoTaggerFunctionArn', 'BudgetAlertsTopicArn', 'BudgetEnforcerDeadLetterQueueUrl',
    'BudgetEnforcerFunctionArn', 'ContinuationDeadLetterQueueUrl', 'DenyInstanceTypesPolicyArn', 'DenyPolicyArn', 'EnforcementLedgerTableName', 'NotificationTopicArn',
    'SweepDeadLetterQueueUrl', 'SweepQueueUrl',
  ]);
});

test('the sweep queue hides a page 6x the timeout, redelivers it five times and takes partial batch responses', () => {
  const queue = resources.SweepQueue.Properties;
  assert.ok(queue.VisibilityTimeout >= 6 * resources.AutoTaggerFunction.Properties.Timeout);
  assert.deepEqual(queue.RedrivePolicy, {
    deadLetterTargetArn: { 'Fn::GetAtt': ['SweepDeadLetterQueue', 'Arn'] },
    maxReceiveCount: 5,
  });
  const mapping = resources.AutoTaggerFunctionSweepPages.Properties;
  assert.deepEqual(mapping.EventSourceArn, { 'Fn::GetAtt': ['SweepQueue', 'Arn'] });
  assert.deepEqual(mapping.FunctionResponseTypes, ['ReportBatchItemFailures']);
  assert.deepEqual(statementsBySid('AutoTaggerFunctionRole').SweepQueue.Resource, { 'Fn::GetAtt': ['SweepQueue', 'Arn'] });
  assert.deepEqual(statementsBySid('AutoTaggerFunctionRole').SweepProgress.Condition, {
    'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': 'sweep#*' },
  });
});

test('the continuation queue hides a part 6x the timeout and the enforcer takes one part per invocation', () => {
  const queue = resources.ContinuationQueue.Properties;
  assert.ok(queue.VisibilityTimeout >= 6 * resources.BudgetEnforcerFunction.Properties.Timeout);
  assert.deepEqual(queue.RedrivePolicy.deadLetterTargetArn, { 'Fn::GetAtt': ['ContinuationDeadLetterQueue', 'Arn'] });
  const mapping = resources.BudgetEnforcerFunctionContinuations.Properties;
  assert.deepEqual(mapping.EventSourceArn, { 'Fn::GetAtt': ['ContinuationQueue', 'Arn'] });
  assert.equal(mapping.BatchSize, 1);
  const send = statementsBySid('BudgetEnforcerFunctionRole').ContinuationQueue;
  assert.deepEqual(send.Resource, { 'Fn::GetAtt': ['ContinuationQueue', 'Arn'] });
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
