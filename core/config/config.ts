import { existsSync } from 'node:fs'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import path from 'node:path'
import * as z from 'zod'
import {
  DEAD_AFTER_MS, DEFAULT_DATANODE_COUNT, DEFAULT_REPLICATION, DATANODE_RESERVED_BYTES, HEARTBEAT_INTERVAL_MS,
  MAX_REPLICATION, STALE_AFTER_MS
} from '../constants.ts'
import { ClusterKeyError, ConfigError, NoClusterError } from '../errors.ts'
import { decodeClusterKey } from '../net/pnet.ts'
import { PROFILES } from '../content/profiles.ts'
import type { ProfileName } from '../content/profiles.ts'
import { makeDirectories } from '../util/mkdirs.ts'

/** The directory `cairn up` uses when none is given, and the name clients look for. */
export const DEFAULT_DATA_DIR = '.cairn'
export const CONFIG_FILE = 'config.json'

const multiaddrText = z.string().regex(/^\/(ip4|ip6|dns4|dns6|dns)\//, 'expected a multiaddr such as /ip4/127.0.0.1/tcp/4740')

/**
 * The one configuration file, `<data dir>/config.json`. Every field is
 * optional but `version`; defaults are below. Paths are relative to the
 * file's directory. `cairn up` writes it; clients read it.
 */
export const configSchema = z.object({
  version: z.literal(1),
  /** The cluster key file (libp2p private-network format). */
  clusterKey: z.string().default('cluster.key'),
  namenode: z.object({
    /** What clients and datanodes dial, with /p2p/<id>; written by `cairn up` once the namenode runs. */
    address: multiaddrText.optional(),
    /** Where the namenode listens. */
    listen: multiaddrText.default('/ip4/127.0.0.1/tcp/4740'),
    /** Its data directory. */
    data: z.string().default('namenode')
  }).strict().prefault({}),
  datanodes: z.object({
    /** How many datanodes `cairn up` starts. */
    count: z.number().int().min(1).max(64).default(DEFAULT_DATANODE_COUNT),
    /** Parent of their data directories (datanode-1, datanode-2, ...). */
    data: z.string().default('.'),
    /** Disk bytes each datanode leaves free. */
    reservedBytes: z.number().int().min(0).default(DATANODE_RESERVED_BYTES),
    /** Host of the data channel each datanode binds and advertises. */
    dataHost: z.string().default('127.0.0.1')
  }).strict().prefault({}),
  client: z.object({
    /** Copies a put asks for. */
    replication: z.number().int().min(1).max(MAX_REPLICATION).default(DEFAULT_REPLICATION),
    /** CID profile of a put. */
    profile: z.enum(Object.keys(PROFILES) as [ProfileName, ...ProfileName[]]).default('unixfs-v1-2025')
  }).strict().prefault({}),
  heartbeat: z.object({
    intervalMs: z.number().int().min(100).default(HEARTBEAT_INTERVAL_MS),
    staleAfterMs: z.number().int().min(200).default(STALE_AFTER_MS),
    deadAfterMs: z.number().int().min(500).default(DEAD_AFTER_MS)
  }).strict().prefault({})
}).strict()

export type CairnConfig = z.infer<typeof configSchema>

export interface LoadedConfig {
  config: CairnConfig
  /** The config file. */
  file: string
  /** Its directory, against which paths resolve. */
  dir: string
}

export function defaultConfig (): CairnConfig {
  return configSchema.parse({ version: 1 })
}

export async function loadConfig (file: string): Promise<LoadedConfig> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new ConfigError(`cannot read the configuration ${file}: ${(err as Error).message}`, { cause: err })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`${file} is not valid JSON: ${(err as Error).message}`, { cause: err, hint: 'fix the file, or delete it and run cairn up again' })
  }
  const parsed = configSchema.safeParse(json)
  if (!parsed.success) {
    throw new ConfigError(`${file} is not a valid Cairn configuration:\n${z.prettifyError(parsed.error)}`, {
      hint: 'fix the fields named above; `cairn config schema` prints the full schema'
    })
  }
  return { config: parsed.data, file: path.resolve(file), dir: path.dirname(path.resolve(file)) }
}

/** Writes the configuration atomically (temp file, rename). */
export async function saveConfig (dir: string, config: CairnConfig): Promise<string> {
  await makeDirectories(dir)
  const file = path.join(dir, CONFIG_FILE)
  const temp = `${file}.${process.pid}.tmp`
  await writeFile(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o644 })
  await rename(temp, file)
  return file
}

/**
 * Finds the configuration a client command should use: `--config`, then
 * $CAIRN_CONFIG, then `.cairn/config.json` in the current directory or any
 * parent (as git finds .git), then ~/.cairn/config.json.
 */
export function findConfigFile (explicit?: string, cwd = process.cwd()): string | undefined {
  if (explicit !== undefined) return explicit
  const fromEnv = process.env.CAIRN_CONFIG
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  let dir = path.resolve(cwd)
  while (true) {
    const candidate = path.join(dir, DEFAULT_DATA_DIR, CONFIG_FILE)
    if (existsSync(candidate)) return candidate
    const parent = path.dirname(dir)
    if (parent === dir) break
    dir = parent
  }
  const home = path.join(homedir(), DEFAULT_DATA_DIR, CONFIG_FILE)
  return existsSync(home) ? home : undefined
}

export interface ClientSettings {
  namenode: string
  clusterKey: Uint8Array
  replication: number
  profile: ProfileName
  configFile: string
}

/** What a client needs, from the configuration, with errors that say how to get a cluster. */
export async function clientSettings (explicit?: string): Promise<ClientSettings> {
  const file = findConfigFile(explicit)
  if (file === undefined) {
    throw new NoClusterError('no Cairn cluster configuration found', {
      hint: 'start a local cluster with `cairn up` (in this directory or a parent), or point to one with --config or CAIRN_CONFIG'
    })
  }
  const { config, dir } = await loadConfig(file)
  const namenode = process.env.CAIRN_NAMENODE ?? config.namenode.address
  if (namenode === undefined) {
    throw new NoClusterError(`${file} names no namenode address`, { hint: 'start the cluster with `cairn up`, which records it' })
  }
  return {
    namenode,
    clusterKey: await readClusterKey(path.resolve(dir, config.clusterKey)),
    replication: config.client.replication,
    profile: config.client.profile,
    configFile: file
  }
}

export async function readClusterKey (file: string): Promise<Uint8Array> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(file)
  } catch (err) {
    throw new ClusterKeyError(`cannot read the cluster key ${file}: ${(err as Error).message}`, {
      cause: err,
      hint: 'copy the cluster key from the machine that runs the namenode (its data directory holds cluster.key)'
    })
  }
  decodeClusterKey(bytes)
  return bytes
}

export function configJsonSchema (): unknown {
  return z.toJSONSchema(configSchema, { io: 'input' })
}
