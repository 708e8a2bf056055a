/** Runs `vision-garden data ...` in-process for the CLI tests. */
import { Command } from 'commander';
import { registerDataCommands } from '../../src/cli/data_commands.js';

/** Runs `vision-garden data ...args`, returning what it printed. */
export async function runData(args: string[]): Promise<string> {
  const program = new Command('vision-garden').exitOverride();
  registerDataCommands(program);
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string | Uint8Array) => {
    chunks.push(String(s));
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['data', ...args], { from: 'user' });
  } finally {
    process.stdout.write = write;
  }
  return chunks.join('');
}
