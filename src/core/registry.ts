/**
 * Name → value registries: experiments, and the builders of backbones, decoders, heads, models
 * and tasks. Modules register what they define when imported (`registerExperiment(name, entry)`,
 * `backbones.register('resnet', build)`); lookups of unknown names suggest the closest ones.
 */
import type { z } from 'zod';
import type { ExperimentConfigBase } from './config/definitions.js';
import { closestMatches } from './strings.js';

/** A name that is not registered. */
export class LookupError extends Error {
  override name = 'LookupError';

  constructor(
    readonly kind: string,
    readonly key: string,
    readonly suggestions: string[],
    available: string[],
  ) {
    const hint =
      suggestions.length > 0
        ? ` Did you mean ${suggestions.map((s) => `'${s}'`).join(' or ')}?`
        : available.length > 0
          ? ` Registered: ${available.join(', ')}.`
          : ` No ${kind} is registered.`;
    super(
      `unknown ${kind} '${key}'.${hint} If it exists, is the module that registers it imported?`,
    );
  }
}

/** A registry of values of one kind, in registration order. */
export class Registry<T> {
  private readonly items = new Map<string, T>();

  /** @param kind what the values are, for messages (`backbone`, `experiment`). */
  constructor(readonly kind: string) {}

  /**
   * Registers `value` under `name` and returns it.
   * @throws Error when `name` is empty or already registered (naming both registrations).
   */
  register(name: string, value: T): T {
    if (name.trim() === '') throw new Error(`${this.kind} registry: the name may not be empty`);
    const existing = this.items.get(name);
    if (existing !== undefined) {
      throw new Error(
        `${this.kind} '${name}' is already registered (existing: ${describe(existing)}; ` +
          `new: ${describe(value)}); names must be unique`,
      );
    }
    this.items.set(name, value);
    return value;
  }

  /** The value registered under `name`. @throws LookupError with the closest names. */
  get(name: string): T {
    const value = this.items.get(name);
    if (value === undefined) {
      const names = this.names();
      throw new LookupError(this.kind, name, closestMatches(name, names), names);
    }
    return value;
  }

  has(name: string): boolean {
    return this.items.has(name);
  }

  /** Registered names in registration order. */
  names(): string[] {
    return [...this.items.keys()];
  }

  /** `[name, value]` pairs in registration order. */
  entries(): [string, T][] {
    return [...this.items.entries()];
  }

  /** Removes a registration (for tests and plugins that replace a builder). */
  unregister(name: string): boolean {
    return this.items.delete(name);
  }
}

function describe(value: unknown): string {
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (value !== null && typeof value === 'object') {
    const v = value as { description?: unknown; taskType?: unknown };
    if (typeof v.description === 'string') {
      return `'${v.description}'${typeof v.taskType === 'string' ? ` (task ${v.taskType})` : ''}`;
    }
    return 'an object';
  }
  return String(value);
}

/**
 * A registered experiment (Model Garden's `exp_factory.register_config_factory`): a factory of
 * its default config and the task type that runs it. The schema that validates its files and
 * overrides is its task's ({@link TaskEntry.experimentSchema}).
 */
export interface ExperimentEntry<C extends ExperimentConfigBase = ExperimentConfigBase> {
  /** The experiment's default config (a fresh object per call): the base of resolveConfig. */
  factory: () => C;
  /** One line for `list-experiments`. */
  description: string;
  /** Key into {@link tasks}. */
  taskType: string;
}

/**
 * Types filled in later by the modules that define them, through declaration merging; e.g. in
 * the backbone factory module:
 * ```ts
 * declare module '../../core/registry.js' {
 *   interface ComponentTypes { backbone: BackboneBuilder }
 * }
 * ```
 * Keys: `backbone`, `decoder`, `head`, `model` (builder function types) and `task` (the type of
 * a built task object). Until a key is declared, builders are {@link UntypedBuilder} (any
 * function may be registered; calling one needs a cast) and tasks are plain objects.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ComponentTypes {}

/** Value type of a builder kind whose signature is not declared yet. */
export type UntypedBuilder = (...args: never[]) => unknown;

export type BuilderKind = 'backbone' | 'decoder' | 'head' | 'model';

/** The declared builder type of a kind, or {@link UntypedBuilder}. */
export type BuilderOf<K extends BuilderKind> = K extends keyof ComponentTypes
  ? ComponentTypes[K]
  : UntypedBuilder;

/** The declared task object type, or `object`. */
export type TaskOf = ComponentTypes extends { task: infer T } ? T : object;

/** A registered task type: the schema of its experiments and the factory of its task. */
export interface TaskEntry<T = TaskOf> {
  /** ExperimentConfig schema whose `task` section is this task type's config. */
  experimentSchema: z.ZodType<ExperimentConfigBase>;
  /** Builds the task from the resolved `task` section of an experiment config. */
  create: (taskConfig: ExperimentConfigBase['task']) => T;
}

/** Experiment name → entry. */
export const experiments = new Registry<ExperimentEntry>('experiment');
/** Backbone type (`resnet`, `mobilenet`, ...) → builder. */
export const backbones = new Registry<BuilderOf<'backbone'>>('backbone');
/** Decoder type (`fpn`, `aspp`, ...) → builder. */
export const decoders = new Registry<BuilderOf<'decoder'>>('decoder');
/** Head type → builder. */
export const heads = new Registry<BuilderOf<'head'>>('head');
/** Model type (`image_classification`, `retinanet`, ...) → builder. */
export const models = new Registry<BuilderOf<'model'>>('model');
/** Task type (`image_classification`, ...) → task entry. */
export const tasks = new Registry<TaskEntry>('task');

/** Registers an experiment (Model Garden's `@exp_factory.register_config_factory(name)`). */
export function registerExperiment<C extends ExperimentConfigBase>(
  name: string,
  entry: ExperimentEntry<C>,
): void {
  experiments.register(name, entry);
}

/** The entry of a registered experiment. @throws LookupError with the closest names. */
export function getExperiment(name: string): ExperimentEntry {
  return experiments.get(name);
}
