// The Tagwarden stack: the same resources as the SAM template infra/template.yaml, with the same logical ids
// as SAM's expansion of it, and both functions built by cargo-lambda through `RustFunction`.
import { join } from 'node:path';
import {
  Aws,
  CfnCondition,
  CfnElement,
  CfnOutput,
  CfnParameter,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  StackProps,
} from 'aws-cdk-lib';
import * as budgets from 'aws-cdk-lib/aws-budgets';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { RustFunction } from 'cargo-lambda-cdk';
import { Construct, IConstruct } from 'constructs';
import { Manifest, PermissionsBySid } from './manifest';
import { INSTANCE_TYPES_CONDITION, loadDenyInstanceTypesPolicy, loadDenyPolicy } from './deny-policy';

/** The Cargo workspace whose `functions/<name>` binaries are deployed. */
export const WORKSPACE_MANIFEST = join(__dirname, '..', '..', '..', 'Cargo.toml');

export interface TagwardenStackProps extends StackProps {
  /** Event names and IAM actions, from infra/generated/manifest.json. */
  readonly manifest: Manifest;
  /**
   * CPU architecture of both functions. Unlike SAM's `Architecture` parameter this is fixed at synth time:
   * cargo-lambda compiles the binary for it while synthesizing.
   */
  readonly architecture: lambda.Architecture;
}

/**
 * The smallest useful policy, the SAM template's `PolicyYaml` default (a test compares them): the example's
 * required keys, and budget alerts that only notify until the policy's owner writes rules.
 */
export const DEFAULT_POLICY =
  '{version: 1, tags: {keys: {cost-center: {required: true}, team: {required: true}, environment: {required: true}}}, ' +
  'budgets: {rules: [{budget: "*", scope: from-budget, steps: [{at: 80, actions: [notify]}]}]}}';

/** The manifest's Sids granted only under a template Condition, by the Condition's logical id. */
export const CONDITIONAL_SIDS: Record<string, string> = { EndpointDeletion: 'EndpointDeletionAllowed' };

/**
 * The manifest's Sids only organization mode needs (permissions.rs, ORGANIZATION_ONLY: assuming the member roles,
 * reading the external id). This app deploys no organization mode (see infra/cdk/README.md), so it grants neither.
 */
export const ORGANIZATION_ONLY_SIDS: readonly string[] = ['MemberRoles', 'MemberExternalId'];

/** The manifest's permissions without the organization-only Sids. */
export function withoutOrganizationOnly(permissions: PermissionsBySid): PermissionsBySid {
  return Object.fromEntries(Object.entries(permissions).filter(([sid]) => !ORGANIZATION_ONLY_SIDS.includes(sid)));
}

/** The ids SAM gives the resources it expands, kept so the two templates can be compared resource by resource. */
function logicalId(construct: IConstruct, id: string): void {
  const resource = construct instanceof CfnElement ? construct : construct.node.defaultChild;
  if (!(resource instanceof CfnElement)) {
    throw new Error(`${construct.node.path} has no CloudFormation resource to name ${id}`);
  }
  resource.overrideLogicalId(id);
}

export class TagwardenStack extends Stack {
  constructor(scope: Construct, id: string, props: TagwardenStackProps) {
    super(scope, id, props);
    const { manifest, architecture } = props;

    // ------------------------------------------------------------ parameters (as in the SAM template)
    const policyParameterName = new CfnParameter(this, 'PolicyParameterName', {
      type: 'String',
      default: '/tagwarden/policy',
      allowedPattern: '^/[a-zA-Z0-9_./-]+$',
      description:
        'Name of the SSM parameter this stack creates and owns, holding the policy YAML (PolicyYaml). Its changes ' +
        'are announced on the notification topic; docs/deployment.md shows the SCP that keeps writes to it to ' +
        "administrators and the stack's CloudFormation role.",
    });
    const policyYaml = new CfnParameter(this, 'PolicyYaml', {
      type: 'String',
      minLength: 1,
      maxLength: 4096,
      default: DEFAULT_POLICY,
      description:
        'The policy (docs/policy.md) the stack writes into the parameter, as one line of YAML or JSON (at most ' +
        '4 KB; docs/deployment.md shows how to turn policy/tagwarden.yaml into one). Change it by updating the stack.',
    });
    const allowEndpointDeletion = new CfnParameter(this, 'AllowEndpointDeletion', {
      type: 'String',
      default: 'false',
      allowedValues: ['true', 'false'],
      description:
        'Grant the budget-enforcer sagemaker:DeleteEndpoint, for rules with `endpoints: {delete: true}`, and ' +
        'sagemaker:CreateEndpoint, with which restore brings a deleted endpoint back. False: such rules fail to delete ' +
        '(AccessDenied, reported), endpoints can only be scaled down.',
    });
    const endpointDeletionAllowed = new CfnCondition(this, 'EndpointDeletionAllowed', {
      expression: Fn.conditionEquals(allowEndpointDeletion.valueAsString, 'true'),
    });
    const autoTaggerReservedConcurrency = new CfnParameter(this, 'AutoTaggerReservedConcurrency', {
      type: 'Number',
      default: 20,
      minValue: 0,
      maxValue: 1000,
      description:
        'Concurrent executions reserved for the auto-tagger: a ceiling, so that a flood of tag-change events (say ' +
        "from a member account) cannot take the account's Lambda concurrency; the excess waits in Lambda's async " +
        'queue and is retried. 0 leaves it unreserved (no ceiling). Sizing: docs/deployment.md.',
    });
    const autoTaggerConcurrencyReserved = new CfnCondition(this, 'AutoTaggerConcurrencyReserved', {
      expression: Fn.conditionNot(Fn.conditionEquals(autoTaggerReservedConcurrency.value, '0')),
    });
    const logRetentionDays = new CfnParameter(this, 'LogRetentionDays', {
      type: 'Number',
      default: '30',
      allowedValues: ['1', '3', '5', '7', '14', '30', '60', '90', '180', '365'],
    });
    const createExampleBudget = new CfnParameter(this, 'CreateExampleBudget', {
      type: 'String',
      default: 'true',
      allowedValues: ['true', 'false'],
      description: 'Create an example monthly cost budget filtered by a cost-allocation tag.',
    });
    const budgetName = new CfnParameter(this, 'BudgetName', { type: 'String', default: 'ml-marketing' });
    const budgetAmount = new CfnParameter(this, 'BudgetAmount', {
      type: 'Number',
      default: 1000,
      minValue: 1,
      description: 'Monthly budgeted amount in USD.',
    });
    const costAllocationTagKey = new CfnParameter(this, 'CostAllocationTagKey', {
      type: 'String',
      default: 'cost-center',
      description: 'The activated cost-allocation tag the example budget filters on.',
    });
    const costCenterTagValue = new CfnParameter(this, 'CostCenterTagValue', {
      type: 'String',
      default: 'CC-4100',
      description: 'The tag value whose spend the example budget tracks (and whose resources it enforces on).',
    });
    const costCenterNoticesEmail = new CfnParameter(this, 'CostCenterNoticesEmail', {
      type: 'String',
      default: '',
      description:
        'An e-mail address that receives only the notices about CostCenterTagValue (an SNS filter policy on the ' +
        "notices' cost-center message attribute). Empty: no such subscription.",
    });
    const sweepSchedule = new CfnParameter(this, 'SweepSchedule', {
      type: 'String',
      default: 'rate(1 day)',
      description:
        'How often the auto-tagger sweeps the existing estate (EventBridge schedule expression); each run ' +
        'starts over and stops cleanly before the function\'s timeout (see docs/sweep-and-audit.md).',
    });
    const enableSweep = new CfnParameter(this, 'EnableSweep', {
      type: 'String',
      default: 'true',
      allowedValues: ['true', 'false'],
      description: 'Run the scheduled sweep (false keeps the schedule, disabled).',
    });
    const sweepEnabled = new CfnCondition(this, 'SweepEnabled', {
      expression: Fn.conditionEquals(enableSweep.valueAsString, 'true'),
    });
    const exampleBudget = new CfnCondition(this, 'ExampleBudget', {
      expression: Fn.conditionEquals(createExampleBudget.valueAsString, 'true'),
    });

    // ------------------------------------------------------------ notifications
    const notificationTopic = new sns.Topic(this, 'NotificationTopic', {
      displayName: 'Tagwarden non-compliance and enforcement summaries',
    });
    logicalId(notificationTopic, 'NotificationTopic');

    // One team's subscription: a filter policy on the notices' cost-center message attribute.
    const costCenterNoticesSubscribed = new CfnCondition(this, 'CostCenterNoticesSubscribed', {
      expression: Fn.conditionNot(Fn.conditionEquals(costCenterNoticesEmail.valueAsString, '')),
    });
    const costCenterNotices = new sns.CfnSubscription(this, 'CostCenterNoticesSubscription', {
      topicArn: notificationTopic.topicArn,
      protocol: 'email',
      endpoint: costCenterNoticesEmail.valueAsString,
      filterPolicyScope: 'MessageAttributes',
      filterPolicy: { 'cost-center': [costCenterTagValue.valueAsString] },
    });
    costCenterNotices.cfnOptions.condition = costCenterNoticesSubscribed;
    logicalId(costCenterNotices, 'CostCenterNoticesSubscription');

    // ------------------------------------------------------------ the policy, owned by the stack
    const policyParameter = new ssm.CfnParameter(this, 'PolicyParameter', {
      name: policyParameterName.valueAsString,
      type: 'String',
      value: policyYaml.valueAsString,
      description: 'Tagwarden policy (tags, budget rules); owned by the Tagwarden stack, changes are announced.',
    });

    // Every change of the parameter (put, delete, label) is announced on the notification topic; CloudTrail
    // names who made it.
    const policyParameterChanges = new events.CfnRule(this, 'PolicyParameterChanges', {
      description: 'Announces changes of the Tagwarden policy parameter on the notification topic.',
      state: 'ENABLED',
      eventPattern: {
        source: ['aws.ssm'],
        'detail-type': ['Parameter Store Change'],
        detail: { name: [policyParameterName.valueAsString] },
      },
      targets: [
        {
          id: 'notification-topic',
          arn: notificationTopic.topicArn,
          inputTransformer: {
            inputPathsMap: { name: '$.detail.name', operation: '$.detail.operation', time: '$.time', account: '$.account' },
            inputTemplate:
              '"Tagwarden policy parameter <name> in account <account>: <operation> at <time>. CloudTrail ' +
              '(ssm PutParameter, DeleteParameter, LabelParameterVersion) names who; the functions read the ' +
              'policy at their next cold start."',
          },
        },
      ],
    });

    // The functions publish through their roles; EventBridge only through the policy-change rule.
    const notificationTopicPolicy = new sns.TopicPolicy(this, 'NotificationTopicPolicy', {
      topics: [notificationTopic],
      policyDocument: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: 'PolicyParameterChanges',
            principals: [new iam.ServicePrincipal('events.amazonaws.com')],
            actions: ['sns:Publish'],
            resources: [notificationTopic.topicArn],
            conditions: { ArnEquals: { 'aws:SourceArn': policyParameterChanges.attrArn } },
          }),
        ],
      }),
    });
    logicalId(notificationTopicPolicy, 'NotificationTopicPolicy');

    const budgetAlertsTopic = new sns.Topic(this, 'BudgetAlertsTopic', {
      displayName: 'AWS Budgets alerts for the Tagwarden budget-enforcer',
    });
    logicalId(budgetAlertsTopic, 'BudgetAlertsTopic');

    // ------------------------------------------------------------ the enforcement ledger
    // Every decision and action of the budget-enforcer, what `restore` reads and what de-duplicates deliveries.
    const ledger = new dynamodb.CfnTable(this, 'EnforcementLedger', {
      billingMode: 'PAY_PER_REQUEST',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      sseSpecification: { sseEnabled: true },
      timeToLiveSpecification: { attributeName: 'expires', enabled: true },
      attributeDefinitions: ['pk', 'sk', 'resource', 'at'].map((attributeName) => ({ attributeName, attributeType: 'S' })),
      keySchema: [
        { attributeName: 'pk', keyType: 'HASH' },
        { attributeName: 'sk', keyType: 'RANGE' },
      ],
      globalSecondaryIndexes: [
        {
          indexName: 'by-resource',
          keySchema: [
            { attributeName: 'resource', keyType: 'HASH' },
            { attributeName: 'at', keyType: 'RANGE' },
          ],
          projection: { projectionType: 'ALL' },
        },
      ],
    });
    ledger.applyRemovalPolicy(RemovalPolicy.RETAIN);

    // ------------------------------------------------------------ the deny policy of `deny-iam`
    // The document is the library's (crates/tagwarden/src/deny_policy.rs), generated by `tagwarden deny-policy`.
    const denyPolicy = new iam.ManagedPolicy(this, 'DenyPolicy', {
      managedPolicyName: `tagwarden-deny-sagemaker-${Aws.REGION}`,
      description: 'Attached by the Tagwarden budget-enforcer to execution roles of a budget over its limit.',
      document: iam.PolicyDocument.fromJson(loadDenyPolicy()),
    });
    logicalId(denyPolicy, 'DenyPolicy');

    // ------------------------------------------------------------ the policy of `deny-instance-types`
    // The library's document (`tagwarden deny-instance-types-policy`) with its patterns as a parameter whose
    // default is the library's list, as in the SAM template.
    const instanceTypes = loadDenyInstanceTypesPolicy();
    const deniedInstanceTypes = new CfnParameter(this, 'DeniedInstanceTypes', {
      type: 'CommaDelimitedList',
      default: instanceTypes.patterns.join(','),
      description:
        'Instance types `deny-instance-types` denies (IAM StringLike patterns on sagemaker:InstanceTypes). The ' +
        "default, GPU and accelerator families and the largest sizes, is the library's.",
    });
    const [instanceTypesStatement] = instanceTypes.document.Statement;
    const denyInstanceTypesPolicy = new iam.ManagedPolicy(this, 'DenyInstanceTypesPolicy', {
      managedPolicyName: `tagwarden-deny-instance-types-${Aws.REGION}`,
      description:
        'Attached by the Tagwarden budget-enforcer to execution roles of a budget over a step: no GPU, ' +
        'accelerator or huge SageMaker instances; small ones still run.',
      document: iam.PolicyDocument.fromJson({
        ...instanceTypes.document,
        Statement: [
          {
            ...instanceTypesStatement,
            Condition: {
              [INSTANCE_TYPES_CONDITION]: { 'sagemaker:InstanceTypes': deniedInstanceTypes.valueAsList },
            },
          },
        ],
      }),
    });
    logicalId(denyInstanceTypesPolicy, 'DenyInstanceTypesPolicy');

    // The queued sweep's pages, as in SAM: visibility 6x the auto-tagger's timeout (AWS's advice for a Lambda
    // event source), five deliveries, then SweepDeadLetterQueue.
    const sweepDeadLetterQueue = new sqs.Queue(this, 'SweepDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
    });
    logicalId(sweepDeadLetterQueue, 'SweepDeadLetterQueue');
    const sweepQueue = new sqs.Queue(this, 'SweepQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      visibilityTimeout: Duration.seconds(1800),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: sweepDeadLetterQueue, maxReceiveCount: 5 },
    });
    logicalId(sweepQueue, 'SweepQueue');
    // The parts of enforcements that outgrew one invocation: as SweepQueue, for the budget-enforcer.
    const continuationDeadLetterQueue = new sqs.Queue(this, 'ContinuationDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
    });
    logicalId(continuationDeadLetterQueue, 'ContinuationDeadLetterQueue');
    const continuationQueue = new sqs.Queue(this, 'ContinuationQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      visibilityTimeout: Duration.seconds(1800),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: continuationDeadLetterQueue, maxReceiveCount: 5 },
    });
    logicalId(continuationQueue, 'ContinuationQueue');

    // One statement per Sid of the manifest, scoped as in the SAM template. A Sid this app does not know
    // (a new scope in the library) fails the synth rather than being granted on "*".
    const account = Aws.ACCOUNT_ID;
    const partition = Aws.PARTITION;
    const region = Aws.REGION;
    const iamRoles = `arn:${partition}:iam::${account}:role/*`;
    // The budget-enforcer writes only its own `tagwarden:*` markers (permissions.rs, MARKER_TAG_KEYS).
    const markerTagsOnly = { 'ForAllValues:StringLike': { 'aws:TagKeys': 'tagwarden:*' } };
    const statementsFor = (permissions: PermissionsBySid): iam.PolicyStatement[] =>
      Object.entries(permissions).map(([sid, actions]) => {
        const statement = (resources: string[], conditions?: Record<string, unknown>) =>
          new iam.PolicyStatement({ sid, actions, resources, conditions });
        switch (sid) {
          case 'SageMakerResources':
            return statement([`arn:${partition}:sagemaker:${region}:${account}:*`]);
          case 'ListCalls':
            return statement(['*']);
          case 'IamRoles':
            return statement([iamRoles]);
          case 'SageMakerMarkerTags':
            return statement([`arn:${partition}:sagemaker:${region}:${account}:*`], markerTagsOnly);
          case 'IamRoleMarkerTags':
            return statement([iamRoles], markerTagsOnly);
          case 'IamUsers':
            return statement([`arn:${partition}:iam::${account}:user/*`]);
          case 'DenyPolicyAttachment':
            return statement([iamRoles], { ArnEquals: { 'iam:PolicyARN': denyPolicy.managedPolicyArn } });
          case 'DenyInstanceTypesPolicyAttachment':
            return statement([iamRoles], {
              ArnEquals: { 'iam:PolicyARN': denyInstanceTypesPolicy.managedPolicyArn },
            });
          case 'NotifyTopic':
            return statement([notificationTopic.topicArn]);
          case 'Budgets':
            return statement([`arn:${partition}:budgets::${account}:budget/*`]);
          case 'AnomalyMonitors':
            return statement([`arn:${partition}:ce::${account}:anomalymonitor/*`]);
          case 'PolicyParameter':
            return statement([
              `arn:${partition}:ssm:${region}:${account}:parameter${policyParameterName.valueAsString}`,
            ]);
          case 'EnforcementLedger':
            return statement([ledger.attrArn, `${ledger.attrArn}/index/*`]);
          case 'SourceRecords':
            return statement([ledger.attrArn], { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': 'source#*' } });
          case 'SweepProgress':
            return statement([ledger.attrArn], { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': 'sweep#*' } });
          case 'SweepQueue':
            return statement([sweepQueue.queueArn]);
          case 'ContinuationQueue':
            return statement([continuationQueue.queueArn]);
          case 'EndpointDeletion':
            // CreateEndpoint (restore of a deletion) is authorized on the endpoint and its endpoint config.
            return statement([
              `arn:${partition}:sagemaker:${region}:${account}:endpoint/*`,
              `arn:${partition}:sagemaker:${region}:${account}:endpoint-config/*`,
            ]);
          default:
            throw new Error(`infra/generated/manifest.json: no resource scope known for Sid ${sid}`);
        }
      });

    /** A dead-letter queue as in SAM: SQS-managed encryption, 14 days. */
    const deadLetterQueue = (name: string) => {
      const queue = new sqs.Queue(this, `${name}DeadLetterQueue`, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        retentionPeriod: Duration.days(14),
      });
      logicalId(queue, `${name}DeadLetterQueue`);
      return queue;
    };

    /**
     * The execution role: the basic execution role (logs), the manifest's statements and the on-failure
     * destination, nothing else. It is handed to the function without policy updates, so that no grant
     * (the SQS destination's, a future `grant*`) can widen it behind the manifest's back.
     */
    const conditions: Record<string, CfnCondition> = { EndpointDeletionAllowed: endpointDeletionAllowed };
    const executionRole = (name: string, permissions: PermissionsBySid, onFailure: sqs.IQueue) => {
      const statements = statementsFor(withoutOrganizationOnly(permissions));
      const conditional = statements.filter((s) => s.sid && CONDITIONAL_SIDS[s.sid]);
      const role = new iam.Role(this, `${name}FunctionRole`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole')],
        inlinePolicies: {
          [`${name}FunctionEventInvokeConfigOnFailureSQSPolicy`]: new iam.PolicyDocument({
            statements: [new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [onFailure.queueArn] })],
          }),
          [`${name}FunctionRolePolicy0`]: new iam.PolicyDocument({
            statements: statements.filter((s) => !conditional.includes(s)),
          }),
        },
      });
      logicalId(role, `${name}FunctionRole`);
      // NOTE: a PolicyDocument cannot hold `Fn::If` statements, so the opt-in ones are appended to the rendered
      // RolePolicy0 (Policies[1], after the on-failure policy) as SAM writes them: `!If [Condition, s, NoValue]`.
      const cfnRole = role.node.defaultChild as iam.CfnRole;
      const unconditional = statements.length - conditional.length;
      conditional.forEach((s, i) => {
        const condition = conditions[CONDITIONAL_SIDS[s.sid!]];
        cfnRole.addPropertyOverride(
          `Policies.1.PolicyDocument.Statement.${unconditional + i}`,
          Fn.conditionIf(condition.logicalId, s.toStatementJson(), Aws.NO_VALUE),
        );
      });
      return role;
    };

    const logGroup = (name: string, functionName: string) => {
      const group = new logs.LogGroup(this, `${name}LogGroup`, {
        logGroupName: `/aws/lambda/${functionName}`,
        retention: logRetentionDays.valueAsNumber as logs.RetentionDays,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      logicalId(group, `${name}LogGroup`);
      return group;
    };

    const environment = { RUST_LOG: 'info', TAGWARDEN_POLICY_PARAMETER: policyParameter.ref };

    /** The function, its event invoke config and its ids as SAM names them. */
    const rustFunction = (
      name: string,
      binaryName: string,
      role: iam.IRole,
      options: Omit<lambda.FunctionOptions, 'role' | 'architecture' | 'loggingFormat'>,
    ) => {
      const fn = new RustFunction(this, `${name}Function`, {
        manifestPath: WORKSPACE_MANIFEST,
        binaryName,
        runtime: 'provided.al2023',
        architecture,
        role: (role as iam.Role).withoutPolicyUpdates(),
        loggingFormat: lambda.LoggingFormat.JSON,
        ...options,
      });
      logicalId(fn, `${name}Function`);
      const invokeConfig = fn.node.tryFindChild('EventInvokeConfig');
      if (invokeConfig) logicalId(invokeConfig, `${name}FunctionEventInvokeConfig`);
      return fn;
    };

    // ------------------------------------------------------------ auto-tagger
    const autoTaggerName = `${Aws.STACK_NAME}-auto-tagger`;
    const autoTaggerDlq = deadLetterQueue('AutoTagger');
    // The EventBridge rule's dead letters (SAM's explicit queue policy: any rule of this account and region).
    autoTaggerDlq.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'EventBridgeDeadLetters',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [autoTaggerDlq.queueArn],
        conditions: { ArnLike: { 'aws:SourceArn': `arn:${partition}:events:${region}:${account}:rule/*` } },
      }),
    );
    logicalId(autoTaggerDlq.node.findChild('Policy'), 'AutoTaggerDeadLetterQueuePolicy');

    const autoTaggerRole = executionRole('AutoTagger', manifest.autoTagger.permissions, autoTaggerDlq);
    const autoTagger = rustFunction(
      'AutoTagger',
      'auto-tagger',
      autoTaggerRole,
      {
        functionName: autoTaggerName,
        description: "Tags new SageMaker resources from their creator's profile, space, domain and IAM tags.",
        // Measured: 16 MB peak RSS (release build, one event); the cold path makes at most 7 AWS calls.
        memorySize: 128,
        // An event takes well under a second, a sweep page a few; the in-invocation sweep (no queue) uses the
        // rest and stops 10 s before it. SweepQueue's visibility timeout is 6x this.
        timeout: Duration.seconds(300),
        logGroup: logGroup('AutoTagger', autoTaggerName),
        environment: {
          ...environment,
          TAGWARDEN_NOTIFY_TOPIC_ARN: notificationTopic.topicArn,
          // The last known values of the tag sources (source# items only), what tamper repair restores.
          TAGWARDEN_LEDGER_TABLE: ledger.ref,
          // The schedule enqueues the sweep's pages here; each SQS record is one page.
          TAGWARDEN_SWEEP_QUEUE_URL: sweepQueue.queueUrl,
          // Where the budgets of the policy's `per: user-profile` catalog entries notify (the enforcer's topic).
          TAGWARDEN_ALERTS_TOPIC_ARN: budgetAlertsTopic.topicArn,
        },
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
        onFailure: new SqsDestination(autoTaggerDlq),
      },
    );

    // A ceiling against floods of events (0: unreserved); 0 reserved would stop the function, never wanted.
    (autoTagger.node.defaultChild as lambda.CfnFunction).addPropertyOverride(
      'ReservedConcurrentExecutions',
      Fn.conditionIf(autoTaggerConcurrencyReserved.logicalId, autoTaggerReservedConcurrency.value, Aws.NO_VALUE),
    );

    // NOTE: a plain CfnRule, as SAM expands it: the L2 Lambda target would add a second, rule-specific
    // statement to the dead-letter queue's policy.
    const createCalls = new events.CfnRule(this, 'AutoTaggerFunctionSageMakerCalls', {
      eventPattern: {
        source: ['aws.sagemaker'],
        'detail-type': ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['sagemaker.amazonaws.com'],
          eventName: manifest.autoTagger.eventNames,
        },
      },
      targets: [
        {
          id: 'AutoTaggerFunctionSageMakerCallsLambdaTarget',
          arn: autoTagger.functionArn,
          retryPolicy: { maximumRetryAttempts: 8, maximumEventAgeInSeconds: 3600 },
          deadLetterConfig: { arn: autoTaggerDlq.queueArn },
        },
      ],
    });
    new lambda.CfnPermission(this, 'AutoTaggerFunctionSageMakerCallsPermission', {
      action: 'lambda:InvokeFunction',
      functionName: autoTagger.functionName,
      principal: 'events.amazonaws.com',
      sourceArn: createCalls.attrArn,
    });

    // One listing page per record, partial batch responses: a plain event source mapping as SAM expands an SQS
    // event, with the managed policy SAM adds for it (receive, delete, visibility of this queue's messages).
    new lambda.CfnEventSourceMapping(this, 'AutoTaggerFunctionSweepPages', {
      eventSourceArn: sweepQueue.queueArn,
      functionName: autoTagger.functionName,
      batchSize: 5,
      functionResponseTypes: ['ReportBatchItemFailures'],
      scalingConfig: { maximumConcurrency: 5 },
    });
    autoTaggerRole.addManagedPolicy(
      iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaSQSQueueExecutionRole'),
    );

    // The scheduled sweep of the existing estate, a plain CfnRule as SAM expands a Schedule event.
    const estateSweep = new events.CfnRule(this, 'AutoTaggerFunctionEstateSweep', {
      description: 'Tagwarden sweeps existing SageMaker resources (tags and repairs them by the policy).',
      scheduleExpression: sweepSchedule.valueAsString,
      state: Fn.conditionIf(sweepEnabled.logicalId, 'ENABLED', 'DISABLED').toString(),
      targets: [
        {
          id: 'AutoTaggerFunctionEstateSweepLambdaTarget',
          arn: autoTagger.functionArn,
          retryPolicy: { maximumRetryAttempts: 0 },
        },
      ],
    });
    new lambda.CfnPermission(this, 'AutoTaggerFunctionEstateSweepPermission', {
      action: 'lambda:InvokeFunction',
      functionName: autoTagger.functionName,
      principal: 'events.amazonaws.com',
      sourceArn: estateSweep.attrArn,
    });

    // ------------------------------------------------------------ budget-enforcer
    const budgetEnforcerName = `${Aws.STACK_NAME}-budget-enforcer`;
    const budgetEnforcerDlq = deadLetterQueue('BudgetEnforcer');
    const budgetEnforcerRole = executionRole('BudgetEnforcer', manifest.budgetEnforcer.permissions, budgetEnforcerDlq);
    const budgetEnforcer = rustFunction(
      'BudgetEnforcer',
      'budget-enforcer',
      budgetEnforcerRole,
      {
        functionName: budgetEnforcerName,
        description: "Turns AWS Budgets alerts into actions on the SageMaker resources in the budget's scope.",
        // Measured: 1,000 notebooks stopped in ~10 s against the emulator with 8 calls in flight; 256 MB gives
        // the CPU for TLS at that concurrency, 300 s leaves room for 5,000 resources and the SDK's retries.
        memorySize: 256,
        timeout: Duration.seconds(300),
        // One enforcement at a time: two alerts for one budget must not race.
        reservedConcurrentExecutions: 1,
        logGroup: logGroup('BudgetEnforcer', budgetEnforcerName),
        environment: {
          ...environment,
          TAGWARDEN_ENFORCEMENT_TOPIC_ARN: notificationTopic.topicArn,
          TAGWARDEN_DENY_POLICY_ARN: denyPolicy.managedPolicyArn,
          TAGWARDEN_DENY_INSTANCE_TYPES_POLICY_ARN: denyInstanceTypesPolicy.managedPolicyArn,
          TAGWARDEN_LEDGER_TABLE: ledger.ref,
          // Comma-separated: an SNS record from any other topic is refused.
          TAGWARDEN_ALERT_TOPICS: budgetAlertsTopic.topicArn,
          // Work stops 30 s before the timeout; what is left goes on here as the next part.
          TAGWARDEN_CONTINUATION_QUEUE_URL: continuationQueue.queueUrl,
          // Idle endpoint rules may delete (`then: delete`) only where the stack grants DeleteEndpoint.
          TAGWARDEN_ALLOW_ENDPOINT_DELETION: allowEndpointDeletion.valueAsString,
        },
        retryAttempts: 2,
        maxEventAge: Duration.hours(6),
        onFailure: new SqsDestination(budgetEnforcerDlq),
      },
    );

    // The next part of an enforcement that outgrew its invocation: one part per invocation (SAM's SQS event).
    new lambda.CfnEventSourceMapping(this, 'BudgetEnforcerFunctionContinuations', {
      eventSourceArn: continuationQueue.queueArn,
      functionName: budgetEnforcer.functionName,
      batchSize: 1,
    });
    budgetEnforcerRole.addManagedPolicy(
      iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaSQSQueueExecutionRole'),
    );

    // Tag writes by the budget-enforcer are Tagwarden's own: tamper protection leaves them alone.
    autoTagger.addEnvironment('TAGWARDEN_TRUSTED_PRINCIPALS', budgetEnforcer.role!.roleArn);

    const budgetAlerts = new sns.Subscription(this, 'BudgetEnforcerFunctionBudgetAlerts', {
      topic: budgetAlertsTopic,
      protocol: sns.SubscriptionProtocol.LAMBDA,
      endpoint: budgetEnforcer.functionArn,
    });
    logicalId(budgetAlerts, 'BudgetEnforcerFunctionBudgetAlerts');
    new lambda.CfnPermission(this, 'BudgetEnforcerFunctionBudgetAlertsPermission', {
      action: 'lambda:InvokeFunction',
      functionName: budgetEnforcer.functionName,
      principal: 'sns.amazonaws.com',
      sourceArn: budgetAlertsTopic.topicArn,
    });

    // The tick restores each budget at the start of its own next period and acts on due grace plans.
    const tick = new events.Rule(this, 'BudgetEnforcerFunctionTick', {
      description: "The Tagwarden budget-enforcer's tick (period restores, due grace plans).",
      schedule: events.Schedule.expression('rate(5 minutes)'),
      targets: [
        new targets.LambdaFunction(budgetEnforcer, {
          event: events.RuleTargetInput.fromObject({ tagwarden: 'tick' }),
        }),
      ],
    });
    logicalId(tick, 'BudgetEnforcerFunctionTick');
    // The L2 target's invoke permission lives under the rule; give it SAM's id.
    tick.node.children
      .filter((c) => c instanceof lambda.CfnPermission)
      .forEach((c) => logicalId(c, 'BudgetEnforcerFunctionTickPermission'));

    // The burn-rate guard: estimates what runs in each budgets.burn rule's scope, acts over the limit.
    const burnRate = new events.Rule(this, 'BudgetEnforcerFunctionBurnRate', {
      description: "The Tagwarden budget-enforcer's burn-rate guard (budgets.burn rules).",
      schedule: events.Schedule.expression('rate(10 minutes)'),
      targets: [
        new targets.LambdaFunction(budgetEnforcer, {
          event: events.RuleTargetInput.fromObject({ tagwarden: 'burn' }),
        }),
      ],
    });
    logicalId(burnRate, 'BudgetEnforcerFunctionBurnRate');
    burnRate.node.children
      .filter((c) => c instanceof lambda.CfnPermission)
      .forEach((c) => logicalId(c, 'BudgetEnforcerFunctionBurnRatePermission'));
    // The idle rules (docs/idle.md): idle endpoints noticed then scaled, notebooks and apps stopped off hours.
    // With an organization the tick only queues one message per (account, region) on the continuation queue;
    // each message runs the rules in its place (docs/idle.md, "In an organization").
    const idle = new events.Rule(this, 'BudgetEnforcerFunctionIdle', {
      description: "The Tagwarden budget-enforcer's idle rules (idle endpoints, off-hours).",
      schedule: events.Schedule.expression('rate(10 minutes)'),
      targets: [
        new targets.LambdaFunction(budgetEnforcer, {
          event: events.RuleTargetInput.fromObject({ tagwarden: 'idle' }),
        }),
      ],
    });
    logicalId(idle, 'BudgetEnforcerFunctionIdle');
    idle.node.children
      .filter((c) => c instanceof lambda.CfnPermission)
      .forEach((c) => logicalId(c, 'BudgetEnforcerFunctionIdlePermission'));

    // Only AWS Budgets of this account publishes alerts (the statement AWS documents for budget notifications).
    // Nobody else may, whatever their own IAM policy allows: the Deny applies to a request when it comes from
    // neither the Budgets service principal (aws:PrincipalServiceName absent or different) nor one of the
    // stack's roles (aws:PrincipalArn absent or different). See infra/template.yaml for the cases.
    const budgetAlertsTopicPolicy = new sns.TopicPolicy(this, 'BudgetAlertsTopicPolicy', {
      topics: [budgetAlertsTopic],
      policyDocument: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: 'AwsBudgetsPublish',
            principals: [new iam.ServicePrincipal('budgets.amazonaws.com')],
            actions: ['sns:Publish'],
            resources: [budgetAlertsTopic.topicArn],
            conditions: {
              StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
              ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:budgets::${Aws.ACCOUNT_ID}:*` },
            },
          }),
          new iam.PolicyStatement({
            sid: 'CostAnomalyDetectionPublish',
            principals: [new iam.ServicePrincipal('costalerts.amazonaws.com')],
            actions: ['sns:Publish'],
            resources: [budgetAlertsTopic.topicArn],
            conditions: {
              StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
              ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:ce::${Aws.ACCOUNT_ID}:anomalysubscription/*` },
            },
          }),
          new iam.PolicyStatement({
            sid: 'NoOtherPublisher',
            effect: iam.Effect.DENY,
            principals: [new iam.StarPrincipal()],
            actions: ['sns:Publish'],
            resources: [budgetAlertsTopic.topicArn],
            conditions: {
              StringNotEquals: { 'aws:PrincipalServiceName': ['budgets.amazonaws.com', 'costalerts.amazonaws.com'] },
              ArnNotEquals: { 'aws:PrincipalArn': [autoTagger.role!.roleArn, budgetEnforcer.role!.roleArn] },
            },
          }),
        ],
      }),
    });
    logicalId(budgetAlertsTopicPolicy, 'BudgetAlertsTopicPolicy');

    // ------------------------------------------------------------ an example budget
    const thresholds: Array<['ACTUAL' | 'FORECASTED', number]> = [
      ['ACTUAL', 80],
      ['ACTUAL', 100],
      ['ACTUAL', 120],
      ['FORECASTED', 100],
    ];
    const budget = new budgets.CfnBudget(this, 'ExampleCostBudget', {
      budget: {
        budgetName: budgetName.valueAsString,
        budgetType: 'COST',
        timeUnit: 'MONTHLY',
        budgetLimit: { amount: budgetAmount.valueAsNumber, unit: 'USD' },
        costFilters: {
          TagKeyValue: [`user:${costAllocationTagKey.valueAsString}$${costCenterTagValue.valueAsString}`],
        },
      },
      notificationsWithSubscribers: thresholds.map(([notificationType, threshold]) => ({
        notification: { notificationType, comparisonOperator: 'GREATER_THAN', threshold, thresholdType: 'PERCENTAGE' },
        subscribers: [{ subscriptionType: 'SNS', address: budgetAlertsTopic.topicArn }],
      })),
    });
    budget.cfnOptions.condition = exampleBudget;

    // ------------------------------------------------------------ outputs (as in the SAM template)
    const output = (id: string, value: string, description?: string) => new CfnOutput(this, id, { value, description });
    output('AutoTaggerFunctionArn', autoTagger.functionArn);
    output('BudgetEnforcerFunctionArn', budgetEnforcer.functionArn);
    output(
      'NotificationTopicArn',
      notificationTopic.topicArn,
      'Subscribe people (e-mail, chat) to non-compliance notices and enforcement summaries.',
    );
    output('BudgetAlertsTopicArn', budgetAlertsTopic.topicArn, "Point your other AWS Budgets' notifications here.");
    output('DenyPolicyArn', denyPolicy.managedPolicyArn);
    output('DenyInstanceTypesPolicyArn', denyInstanceTypesPolicy.managedPolicyArn);
    output('EnforcementLedgerTableName', ledger.ref, 'The enforcement ledger (`tagwarden history` reads it).');
    output('AutoTaggerDeadLetterQueueUrl', autoTaggerDlq.queueUrl);
    output('SweepQueueUrl', sweepQueue.queueUrl);
    output('SweepDeadLetterQueueUrl', sweepDeadLetterQueue.queueUrl);
    output('BudgetEnforcerDeadLetterQueueUrl', budgetEnforcerDlq.queueUrl);
    output('ContinuationDeadLetterQueueUrl', continuationDeadLetterQueue.queueUrl);
  }
}
