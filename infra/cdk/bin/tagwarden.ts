#!/usr/bin/env node
// The CDK app. Context: `architecture` (arm64 | x86_64, default arm64), `stackName` (default tagwarden).
// TAGWARDEN_CDK_SKIP_BUNDLING=1 synthesizes without building the functions (tests, CI): the template is
// complete, only the code assets point at the workspace instead of a built bootstrap.
import { App } from 'aws-cdk-lib';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import { loadManifest } from '../lib/manifest';
import { TagwardenStack } from '../lib/tagwarden-stack';

const skipBundling = process.env.TAGWARDEN_CDK_SKIP_BUNDLING === '1';
// NOTE: the CLI refuses `-c aws:...` keys, so the empty list of bundling stacks is set here.
const app = new App(skipBundling ? { postCliContext: { 'aws:cdk:bundling-stacks': [] } } : {});

const architectures: Record<string, Architecture> = { arm64: Architecture.ARM_64, x86_64: Architecture.X86_64 };
const archName = String(app.node.tryGetContext('architecture') ?? 'arm64');
const architecture = architectures[archName];
if (!architecture) {
  throw new Error(`context architecture must be arm64 or x86_64, not ${archName}`);
}

new TagwardenStack(app, 'Tagwarden', {
  stackName: String(app.node.tryGetContext('stackName') ?? 'tagwarden'),
  description:
    'Tagwarden: cost-allocation tagging (auto-tagger) and budget guardrails (budget-enforcer) for Amazon ' +
    'SageMaker. CDK app in infra/cdk (the same resources as infra/template.yaml).',
  analyticsReporting: false,
  manifest: loadManifest(),
  architecture,
});
