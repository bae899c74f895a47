// Where a task's files live, as the actors need to know it. The spool
// (server/spool.ts) names and removes them; actors never build a path.
export interface TaskFiles {
  /** the decoded audio of task `taskId` while it is transcribed */
  pcmPath(taskId: string): string;
  /** Removes a task's files (streams have none); a file already gone is fine. */
  remove(record: { audioPath: string; pcmPath: string }): Promise<void>;
}
