import { collectTallies } from './conformance-report';

export default (): void => {
  const lines = collectTallies();
  if (lines.length > 0) {
    process.stdout.write(`${lines.join('\n')}\n`);
  }
};
