import { makeTallyFolder } from './conformance-report';

export default makeTallyFolder;
